import { z } from "zod";

export { type Interval, INTERVALS } from "./intervals.ts";

/** One OHLCV candle; `time` is the start of its interval (epoch ms). */
export const candleSchema = z.object({
  time: z.number().int(),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number().int().nonnegative(),
  /** Volume-weighted average price; the close when no volume was reported. */
  vwap: z.number(),
  /** Ticks folded into the candle. */
  trades: z.number().int().nonnegative(),
});

/** One OHLCV candle. */
export type Candle = z.infer<typeof candleSchema>;

/** A candle as history answers it: OHLCV, without the VWAP and trade count the actors keep. */
export interface HistoryCandle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** One OHLCV bar from a provider; `time` is the bar's start (epoch ms; a UTC midnight for daily bars). */
export interface Bar extends HistoryCandle {
  /** Split- and dividend-adjusted close, when the provider gives one. */
  adjClose?: number;
  /** Volume-weighted price, when the provider gives one. */
  vwap?: number;
  /** Trades in the bar, when the provider gives it. */
  trades?: number;
}
