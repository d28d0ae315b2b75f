/** Queries over candles_1m and candles_1d: history reads, what a fetch already holds, and bar writes. */
import type { Bar, HistoryCandle } from "../../schema/candle.ts";
import type { FetchInterval } from "../../schema/backfill.ts";
import { candleFromRow, dailyRow, minuteRow, type StoredCandleRow } from "../rows.ts";
import type { Store } from "../store.ts";

const TABLE = { "1d": "candles_1d", "1m": "candles_1m" } as const;

/**
 * Minute candles of `symbol` in [from, to), aggregated into buckets of `minutes` (1 for the stored minutes).
 *
 * @param minutes bucket width in minutes (1, 5, 15, 60)
 * @returns candles in time order, each at its bucket's start
 * @example
 * ```ts
 * const hourly = await minuteBuckets(store, "AAPL", 60, Date.now() - 86_400_000, Date.now());
 * ```
 */
export async function minuteBuckets(
  store: Store,
  symbol: string,
  minutes: number,
  from: number,
  to: number,
): Promise<HistoryCandle[]> {
  const rows = await store.query<StoredCandleRow>(
    `SELECT toUnixTimestamp(toStartOfInterval(candles_1m.time, INTERVAL {m:UInt32} MINUTE)) * 1000 AS t,
            argMin(open, candles_1m.time) AS open, max(high) AS high, min(low) AS low,
            argMax(close, candles_1m.time) AS close, sum(volume) AS volume
     FROM candles_1m FINAL
     WHERE symbol = {symbol:String}
       AND candles_1m.time >= fromUnixTimestamp64Milli({from:Int64})
       AND candles_1m.time < fromUnixTimestamp64Milli({to:Int64})
     GROUP BY t ORDER BY t`,
    { m: minutes, symbol, from, to },
  );
  return rows.map(candleFromRow);
}

/**
 * Stored daily candles of `symbol` whose day falls in [from, to) (days as UTC midnights).
 *
 * @example
 * ```ts
 * const year = await dailyCandles(store, "AAPL", Date.parse("2025-01-01"), Date.parse("2026-01-01"));
 * ```
 */
export async function dailyCandles(store: Store, symbol: string, from: number, to: number): Promise<HistoryCandle[]> {
  const rows = await store.query<StoredCandleRow>(
    `SELECT toUnixTimestamp(toDateTime(candles_1d.time, 'UTC')) * 1000 AS t, open, high, low, close, volume
     FROM candles_1d FINAL
     WHERE symbol = {symbol:String}
       AND candles_1d.time >= toDate(fromUnixTimestamp64Milli({from:Int64}))
       AND candles_1d.time < toDate(fromUnixTimestamp64Milli({to:Int64}))
     ORDER BY t`,
    { symbol, from, to },
  );
  return rows.map(candleFromRow);
}

/**
 * The stored bars of `symbol` at `interval` in [from, to] (both ends included), by time.
 *
 * @example
 * ```ts
 * const stored = await storedBars(store, "IBM", "1d", from, to);
 * const isNew = (b: Bar) => !stored.has(b.time);
 * ```
 */
export async function storedBars(
  store: Store,
  symbol: string,
  interval: FetchInterval,
  from: number,
  to: number,
): Promise<Map<number, HistoryCandle>> {
  const t = interval === "1d"
    ? "toUnixTimestamp(toDateTime(candles_1d.time, 'UTC')) * 1000"
    : "toUnixTimestamp64Milli(candles_1m.time)";
  const cond = interval === "1d"
    ? "candles_1d.time >= toDate(fromUnixTimestamp64Milli({from:Int64})) AND candles_1d.time <= toDate(fromUnixTimestamp64Milli({to:Int64}))"
    : "candles_1m.time >= fromUnixTimestamp64Milli({from:Int64}) AND candles_1m.time <= fromUnixTimestamp64Milli({to:Int64})";
  const rows = await store.query<StoredCandleRow>(
    `SELECT ${t} AS t, open, high, low, close, volume FROM ${TABLE[interval]} FINAL
     WHERE symbol = {symbol:String} AND ${cond} ORDER BY t`,
    { symbol, from, to },
  );
  return new Map(rows.map((r) => [Number(r.t), candleFromRow(r)]));
}

/**
 * The time of the newest stored bar of `symbol` at `interval`, or undefined when there is none.
 *
 * @example
 * ```ts
 * const from = (await lastStored(store, "IBM", "1d")) ?? fiveYearsAgo;
 * ```
 */
export async function lastStored(store: Store, symbol: string, interval: FetchInterval): Promise<number | undefined> {
  const t = interval === "1d"
    ? "toUnixTimestamp(toDateTime(max(time), 'UTC')) * 1000"
    : "toUnixTimestamp64Milli(max(time))";
  const rows = await store.query<{ t: number | string; n: number | string }>(
    `SELECT ${t} AS t, count() AS n FROM ${TABLE[interval]} WHERE symbol = {symbol:String}`,
    { symbol },
  );
  return Number(rows[0]?.n ?? 0) > 0 ? Number(rows[0]!.t) : undefined;
}

/**
 * The close of the last stored trading day of `symbol` before the day starting at `day` (a UTC midnight), or
 * undefined when none is stored: a feed without a previous close of its own measures the day's change from it.
 *
 * @example
 * ```ts
 * const pc = await previousDailyClose(store, "AAPL", Date.parse("2026-11-20"));
 * ```
 */
export async function previousDailyClose(store: Store, symbol: string, day: number): Promise<number | undefined> {
  const rows = await store.query<{ close: number }>(
    `SELECT close FROM candles_1d FINAL
     WHERE symbol = {symbol:String} AND candles_1d.time < toDate(fromUnixTimestamp64Milli({day:Int64}))
     ORDER BY candles_1d.time DESC LIMIT 1`,
    { symbol, day },
  );
  return rows[0]?.close;
}

/**
 * Writes provider bars of one symbol to candles_1d or candles_1m, `chunk` rows per insert.
 *
 * @param version the rows' version: a bar written again with a higher version replaces the stored one
 * @returns the number of rows written
 * @example
 * ```ts
 * await insertBars(store, "1m", "IBM", bars, "yahoo", Date.now());
 * ```
 */
export async function insertBars(
  store: Store,
  interval: FetchInterval,
  symbol: string,
  bars: readonly Bar[],
  source: string,
  version: number,
  chunk = 20_000,
): Promise<number> {
  const toRow = interval === "1d" ? dailyRow : minuteRow;
  for (let i = 0; i < bars.length; i += chunk) {
    await store.insert(TABLE[interval], bars.slice(i, i + chunk).map((b) => toRow(symbol, b, source, version)));
  }
  return bars.length;
}

/**
 * Which of `symbols` have any daily candles stored.
 *
 * @example
 * ```ts
 * const have = await symbolsWithDaily(store, ["AAPL", "IBM"]);
 * const missing = ["AAPL", "IBM"].filter((s) => !have.has(s));
 * ```
 */
export async function symbolsWithDaily(store: Store, symbols: readonly string[]): Promise<Set<string>> {
  const rows = await store.query<{ symbol: string }>(
    "SELECT DISTINCT symbol FROM candles_1d WHERE symbol IN {symbols:Array(String)}",
    { symbols: [...symbols] },
  );
  return new Set(rows.map((r) => r.symbol));
}
