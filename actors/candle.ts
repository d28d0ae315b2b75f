import type { Candle } from "../schema/candle.ts";

/** A candle being built: OHLCV plus the price-volume sum its VWAP comes from. */
export interface OpenCandle extends Candle {
  /** Sum of price x volume. */
  pv: number;
}

/** Start of the `intervalMs` candle holding `time`. */
export function candleStart(time: number, intervalMs: number): number {
  return time - (time % intervalMs);
}

/**
 * A new candle for the interval holding `time`, opened by this tick.
 *
 * @example
 * ```ts
 * const c = openCandle(tick.time, 60_000, tick.price, tick.volume);
 * foldCandle(c, 101.5, 200);
 * const bar = closeCandle(c); // { time, open, high, low, close, volume }
 * ```
 */
export function openCandle(time: number, intervalMs: number, price: number, volume: number): OpenCandle {
  return {
    time: candleStart(time, intervalMs),
    open: price,
    high: price,
    low: price,
    close: price,
    volume,
    vwap: price,
    trades: 1,
    pv: price * volume,
  };
}

/** Folds a tick into a candle of the same interval. */
export function foldCandle(c: OpenCandle, price: number, volume: number): void {
  if (price > c.high) c.high = price;
  if (price < c.low) c.low = price;
  c.close = price;
  c.volume += volume;
  c.pv += price * volume;
  c.trades++;
}

/** The finished candle: VWAP from the price-volume sum (the close when there was no volume). */
export function closeCandle(c: OpenCandle): Candle {
  const vwap = c.volume > 0 ? Math.round(c.pv / c.volume * 1e6) / 1e6 : c.close;
  return {
    time: c.time,
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
    vwap,
    trades: c.trades,
  };
}

/**
 * Exponentially weighted mean and variance, updated in O(1) (West's incremental form).
 * `alpha` is the weight of the newest value; `n` counts updates so callers can wait for a warm-up.
 */
export interface Ewma {
  mean: number;
  variance: number;
  n: number;
}

/** An empty EWMA. */
export function newEwma(): Ewma {
  return { mean: 0, variance: 0, n: 0 };
}

/** Adds `x` with weight `alpha`. */
export function updateEwma(e: Ewma, x: number, alpha: number): void {
  if (e.n === 0) {
    e.mean = x;
    e.variance = 0;
  } else {
    const diff = x - e.mean;
    const incr = alpha * diff;
    e.mean += incr;
    e.variance = (1 - alpha) * (e.variance + diff * incr);
  }
  e.n++;
}
