/** The live state of a symbol as every stage sees it: its quote, its rolling windows, what its owner answers. */
import type { Candle } from "./candle.ts";
import type { MarketHours, TickSource } from "./tick.ts";

/** The latest quote of a symbol, as the API serves it. */
export interface Quote {
  symbol: string;
  price: number;
  time: number;
  change: number;
  changePercent: number;
  dayVolume: number;
  /** The day's first price (or the source's opening price). */
  open: number;
  dayHigh: number;
  dayLow: number;
  previousClose: number;
  /** The exchange's trading day the quote belongs to, as its UTC midnight (epoch ms). */
  day: number;
  marketHours: MarketHours;
  exchange: string;
  currency: string;
  source: TickSource;
  priceHint: number;
}

/**
 * The fields of a quote that a tick moves, in the order of a {@link TickRow}. A WebSocket batch carries a quote as a
 * row of just these while the rest (open, previous close, day, session, exchange, currency, source, price hint) are as
 * last sent, and whole when any of those changed; {@link mergeQuoteUpdate} puts the whole quote back together.
 */
export const TICK_FIELDS = [
  "symbol",
  "price",
  "time",
  "change",
  "changePercent",
  "dayVolume",
  "dayHigh",
  "dayLow",
] as const;

/**
 * A tick's fields as a JSON array, in the order of {@link TICK_FIELDS}: a third of a whole quote's bytes, and half of
 * the same fields as an object. The fan-out's cost grows with the bytes it sends, so batches carry rows.
 */
export type TickRow = [
  symbol: string,
  price: number,
  time: number,
  change: number,
  changePercent: number,
  dayVolume: number,
  dayHigh: number,
  dayLow: number,
];

/** A quote as a batch carries it: a tick row while its other fields are as last sent, or the whole quote. */
export type QuoteUpdate = TickRow | Quote;

/**
 * The tick row of `q`.
 *
 * @example
 * ```ts
 * tickRow(quote); // ["AAPL", 231.5, 1732200000000, 1.2, 0.5211, 123456, 232, 229.8]
 * ```
 */
export function tickRow(q: Pick<Quote, (typeof TICK_FIELDS)[number]>): TickRow {
  return [q.symbol, q.price, q.time, q.change, q.changePercent, q.dayVolume, q.dayHigh, q.dayLow];
}

/**
 * The symbol, price and time of a batch entry, whichever form it has.
 *
 * @example
 * ```ts
 * for (const u of frame.quotes) ages.push(Date.now() - updateTick(u).time);
 * ```
 */
export function updateTick(u: QuoteUpdate): Pick<Quote, "symbol" | "price" | "time"> {
  return Array.isArray(u) ? { symbol: u[0], price: u[1], time: u[2] } : u;
}

/**
 * The whole quote after `update`, given the last whole quote of its symbol (undefined when none is known yet, and
 * then the update must be whole).
 *
 * @example
 * ```ts
 * const q = mergeQuoteUpdate(known.get(updateTick(u).symbol), u);
 * if (q) known.set(q.symbol, q);
 * ```
 */
export function mergeQuoteUpdate(last: Quote | undefined, update: QuoteUpdate): Quote | undefined {
  if (!Array.isArray(update)) return update;
  if (!last) return undefined;
  const [symbol, price, time, change, changePercent, dayVolume, dayHigh, dayLow] = update;
  return { ...last, symbol, price, time, change, changePercent, dayVolume, dayHigh, dayLow };
}

/** What a rolling window reports. */
export interface WindowStats {
  /** Price at the start of the window (open of its oldest bucket). */
  first: number;
  last: number;
  high: number;
  low: number;
  /** (last - first) / first, in percent. */
  changePercent: number;
  volume: number;
  /** Ticks in the window. */
  ticks: number;
}

/** A symbol's live state as its owner answers a latest-value request. */
export interface LatestState {
  quote: Quote;
  windows: Record<string, WindowStats | null>;
  /** The one-minute candle still open, if any. */
  openCandle: Candle | null;
  /** Epoch ms at which the owner read it. */
  asOf: number;
}
