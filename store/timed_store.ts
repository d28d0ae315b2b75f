import type { Store } from "./store.ts";

/** Store operations that are timed. */
export type StoreOp = "query" | "exec" | "insert" | "ping";

/**
 * Wraps `store` so every call reports its duration (seconds) and whether it succeeded; the metrics endpoint turns
 * these into the store latency histogram.
 *
 * @example
 * ```ts
 * const store = timedStore(opened, (op, seconds, ok) => histogram.observe({ op, ok: String(ok) }, seconds));
 * ```
 */
export function timedStore(store: Store, observe: (op: StoreOp, seconds: number, ok: boolean) => void): Store {
  const time = async <T>(op: StoreOp, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    let ok = false;
    try {
      const v = await run();
      ok = true;
      return v;
    } finally {
      observe(op, (performance.now() - t0) / 1000, ok);
    }
  };
  return {
    driver: store.driver,
    database: store.database,
    ping: () => time("ping", () => store.ping()),
    exec: (sql, params) => time("exec", () => store.exec(sql, params)),
    query: (sql, params) => time("query", () => store.query(sql, params)),
    insert: (table, rows, options) => time("insert", () => store.insert(table, rows, options)),
    insertJsonEachRow: (table, payload, options) =>
      time("insert", () => store.insertJsonEachRow(table, payload, options)),
    close: () => store.close(),
  };
}
