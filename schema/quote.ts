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
 * The fields of a quote that a tick moves. A WebSocket batch carries a quote as just these while the rest (open,
 * previous close, day, session, exchange, currency, source, price hint) are as last sent, and whole when any of
 * those changed; {@link mergeQuoteUpdate} puts the whole quote back together.
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

/** A quote as a batch carries it: the tick's fields, and the rest only when they changed. */
export type QuoteUpdate = Pick<Quote, (typeof TICK_FIELDS)[number]> & Partial<Quote>;

/**
 * The whole quote after `update`, given the last whole quote of its symbol (undefined when none is known yet, and
 * then the update must be whole).
 *
 * @example
 * ```ts
 * const q = mergeQuoteUpdate(known.get(u.symbol), u);
 * if (q) known.set(q.symbol, q);
 * ```
 */
export function mergeQuoteUpdate(last: Quote | undefined, update: QuoteUpdate): Quote | undefined {
  if (last) return { ...last, ...update };
  return "day" in update && "previousClose" in update ? update as Quote : undefined;
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
