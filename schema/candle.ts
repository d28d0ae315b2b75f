import { z } from "zod";

/** Candle intervals the history endpoint serves; 1m is stored, coarser ones are derived. */
export const INTERVALS = ["1m", "5m", "15m", "1h", "1d"] as const;
/** A candle interval. */
export type Interval = (typeof INTERVALS)[number];

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

/** The `candles_1m` row of a closed one-minute candle. */
export function candleToRow(symbol: string, c: Candle, source: string, version: number): Record<string, unknown> {
  return {
    symbol,
    time: c.time,
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
    vwap: c.vwap,
    trades: c.trades,
    source,
    version,
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

/** The OHLCV candle (numbers only) of a stored row. */
/** A candle as history answers it: OHLCV, without the VWAP and trade count the actors keep. */
export type HistoryCandle = ReturnType<typeof candleFromRow>;

export function candleFromRow(r: StoredCandleRow) {
  return { time: Number(r.t), open: r.open, high: r.high, low: r.low, close: r.close, volume: Number(r.volume) };
}
