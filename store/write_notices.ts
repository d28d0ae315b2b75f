import type { Row, Store } from "./store.ts";

/** Tables whose writes change what history answers. */
const CANDLE_TABLES = new Set(["candles_1m", "candles_1d"]);

/**
 * `store` with every candle insert announced: `onWrite(table, symbol, from)` is called once per symbol of each
 * successful insert into candles_1m or candles_1d, with the earliest candle time written (epoch ms), so history
 * caches drop what the write changed.
 *
 * @example
 * ```ts
 * const store = announcingStore(inner, (table, symbol, from) => cache.invalidate(symbol, from));
 * ```
 */
export function announcingStore(
  store: Store,
  onWrite: (table: string, symbol: string, from: number) => void,
): Store {
  return {
    get driver() {
      return store.driver;
    },
    get database() {
      return store.database;
    },
    ping: () => store.ping(),
    exec: (sql, params) => store.exec(sql, params),
    query: (sql, params) => store.query(sql, params),
    close: () => store.close(),
    async insertJsonEachRow(table, payload, options) {
      await store.insertJsonEachRow(table, payload, options);
      // Candle batches from the store's writer are small (a minute's closes): reading them back costs little.
      if (CANDLE_TABLES.has(table)) announce(table, decodeLines(payload));
    },
    async insert(table, rows, options) {
      await store.insert(table, rows, options);
      if (CANDLE_TABLES.has(table)) announce(table, rows);
    },
  };

  function announce(table: string, rows: readonly Row[]): void {
    const earliest = new Map<string, number>();
    for (const r of rows) {
      const symbol = String(r.symbol);
      const t = typeof r.time === "number" ? r.time : Date.parse(String(r.time));
      if (!Number.isFinite(t)) continue;
      const seen = earliest.get(symbol);
      if (seen === undefined || t < seen) earliest.set(symbol, t);
    }
    for (const [symbol, from] of earliest) onWrite(table, symbol, from);
  }
}

function decodeLines(payload: Uint8Array): Row[] {
  return new TextDecoder().decode(payload).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Row);
}
