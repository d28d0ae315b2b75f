/**
 * Row mapping between the product's types and the ClickHouse tables: what each table's row holds for a value, and
 * the value a row read back stands for. Only store/ speaks in rows; every other stage passes typed values.
 */
import type { Alert } from "../schema/alert.ts";
import type { Bar, HistoryCandle } from "../schema/candle.ts";
import type { Tick } from "../schema/tick.ts";
import type { Row } from "./store.ts";

/**
 * The `ticks` row of a tick (snake_case columns; absent optional fields take the column default).
 *
 * @param t a normalized tick
 * @returns the row the tick writer logs and inserts
 * @example
 * ```ts
 * const line = JSON.stringify(tickToRow(tick)) + "\n";
 * ```
 */
export function tickToRow(t: Tick): Row {
  return {
    symbol: t.symbol,
    time: t.time,
    price: t.price,
    price_raw: t.priceRaw ?? t.price,
    change: t.change,
    change_percent: t.changePercent,
    day_volume: t.dayVolume,
    day_high: t.dayHigh,
    day_low: t.dayLow,
    open_price: t.openPrice,
    previous_close: t.previousClose,
    bid: t.bid,
    bid_size: t.bidSize,
    ask: t.ask,
    ask_size: t.askSize,
    last_size: t.lastSize,
    price_hint: t.priceHint,
    currency: t.currency,
    exchange: t.exchange,
    quote_type: t.quoteType,
    market_hours: t.marketHours,
    source: t.source,
    seq: t.seq ?? 0,
  };
}

/**
 * The `candles_1d` row of a provider's daily bar (the bar's UTC date is the row's day).
 *
 * @example
 * ```ts
 * await insertBars(store, "1d", [dailyRow("IBM", bar, "yahoo", 1)]);
 * ```
 */
export function dailyRow(symbol: string, b: Bar, source: string, version: number): Row {
  return {
    symbol,
    time: new Date(b.time).toISOString().slice(0, 10),
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    adj_close: b.adjClose ?? 0,
    volume: b.volume,
    source,
    version,
  };
}

/**
 * The `candles_1m` row of a minute bar: a provider's, or a closed candle the actors built (which carries its VWAP
 * and trade count). Without a VWAP from the provider, the typical price stands in.
 *
 * @param version the row version: a later write of the same minute replaces an earlier one
 * @example
 * ```ts
 * const rows = bars.map((b) => minuteRow("IBM", b, "yahoo", Date.now()));
 * ```
 */
export function minuteRow(symbol: string, b: Bar, source: string, version: number): Row {
  return {
    symbol,
    time: b.time,
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    volume: b.volume,
    vwap: b.vwap ?? (b.high + b.low + b.close) / 3,
    trades: b.trades ?? 0,
    source,
    version,
  };
}

/**
 * The `alerts` row of an alert.
 *
 * @example
 * ```ts
 * await writer.alerts.append([alertToRow(alert)]);
 * ```
 */
export function alertToRow(a: Alert): Row {
  return {
    id: a.id,
    time: a.time,
    symbol: a.symbol,
    rule_id: a.ruleId,
    user_id: a.userId,
    kind: a.kind,
    window: a.window,
    message: a.message,
    price: a.price,
    change_percent: a.changePercent,
  };
}

/** A candle as read back from candles_1m or candles_1d: `t` is epoch ms, 64-bit values may arrive as strings. */
export interface StoredCandleRow {
  t: number | string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number | string;
}

/**
 * The OHLCV candle (numbers only) of a stored row.
 *
 * @example
 * ```ts
 * const candles = (await store.query<StoredCandleRow>(sql, params)).map(candleFromRow);
 * ```
 */
export function candleFromRow(r: StoredCandleRow): HistoryCandle {
  return { time: Number(r.t), open: r.open, high: r.high, low: r.low, close: r.close, volume: Number(r.volume) };
}
