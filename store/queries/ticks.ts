/** Queries over the ticks table. */
import type { Tick } from "../../schema/tick.ts";
import type { Row, Store } from "../store.ts";

const TICK_COLUMNS = `toUnixTimestamp64Milli(ticks.time) AS t, price, change, change_percent, day_volume, day_high,
  day_low, open_price, previous_close, last_size, price_hint, currency, exchange, quote_type, market_hours, source, seq`;

interface TickRow {
  t: number | string;
  seq: number | string;
  price: number;
  change: number;
  change_percent: number;
  day_volume: number | string;
  day_high: number;
  day_low: number;
  open_price: number;
  previous_close: number;
  last_size: number | string;
  price_hint: number;
  currency: string;
  exchange: string;
  quote_type: Tick["quoteType"];
  market_hours: Tick["marketHours"];
  source: Tick["source"];
}

/** Which stored ticks of a symbol {@link storedTicks} returns. */
export interface TickRange {
  symbol: string;
  /** Event time from (epoch ms, inclusive). */
  from: number;
  /** Only ticks that arrived after this arrival position (0: no lower bound by position). */
  afterSeq?: number;
  /** Only ticks that arrived before this arrival position; without it, `until` bounds event time. */
  beforeSeq?: number;
  /** Event time to (epoch ms), used when `beforeSeq` is not given. */
  until?: number;
  /** `until` is exclusive (default inclusive). */
  untilExclusive?: boolean;
}

/**
 * Stored ticks of one symbol in arrival order (arrival position, then event time): what an actor replays after
 * its snapshot.
 *
 * @example
 * ```ts
 * const missed = await storedTicks(store, { symbol: "AAPL", from: snapshot.lastTime, afterSeq: snapshot.lastSeq,
 *   beforeSeq: firstLive.seq });
 * ```
 */
export async function storedTicks(store: Store, r: TickRange): Promise<Tick[]> {
  const afterSeq = r.afterSeq ?? 0;
  const rows = await store.query<TickRow>(
    `SELECT ${TICK_COLUMNS} FROM ticks
     WHERE symbol = {symbol:String}
       AND ticks.time >= fromUnixTimestamp64Milli({from:Int64})
       ${afterSeq > 0 ? "AND seq > {afterSeq:UInt64}" : ""}
       ${
      r.beforeSeq !== undefined
        ? "AND seq < {beforeSeq:UInt64}"
        : `AND ticks.time ${r.untilExclusive ? "<" : "<="} fromUnixTimestamp64Milli({until:Int64})`
    }
     ORDER BY seq, ticks.time`,
    {
      symbol: r.symbol,
      from: r.from,
      ...(afterSeq > 0 ? { afterSeq } : {}),
      ...(r.beforeSeq !== undefined ? { beforeSeq: r.beforeSeq } : { until: r.until ?? Date.now() }),
    },
  );
  return rows.map((row) => {
    const t: Tick = {
      symbol: r.symbol,
      time: Number(row.t),
      price: row.price,
      source: row.source,
      quoteType: row.quote_type,
      marketHours: row.market_hours,
      change: row.change,
      changePercent: row.change_percent,
      dayVolume: Number(row.day_volume),
      dayHigh: row.day_high,
      dayLow: row.day_low,
      openPrice: row.open_price,
      previousClose: row.previous_close,
      lastSize: Number(row.last_size),
      priceHint: row.price_hint,
      currency: row.currency,
      exchange: row.exchange,
    };
    const seq = Number(row.seq);
    if (seq > 0) t.seq = seq;
    return t;
  });
}

/**
 * Whether the ticks table holds the row `row` (as the tick writer logged it): same symbol, time, arrival position
 * and price.
 *
 * @example
 * ```ts
 * const landed = await tickStored(store, tickToRow(tick));
 * ```
 */
export async function tickStored(store: Store, row: Row): Promise<boolean> {
  const rows = await store.query<{ n: number | string }>(
    `SELECT count() AS n FROM ticks
     WHERE symbol = {symbol:String} AND ticks.time = fromUnixTimestamp64Milli({time:Int64})
       AND seq = {seq:UInt64} AND price = {price:Float64}`,
    { symbol: String(row.symbol), time: Number(row.time), seq: Number(row.seq ?? 0), price: Number(row.price) },
  );
  return Number(rows[0]?.n ?? 0) > 0;
}
