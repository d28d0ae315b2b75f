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
