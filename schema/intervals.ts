/**
 * Candle intervals the history endpoint serves; 1m is stored, coarser ones are derived. In a module of its own, with
 * no validation library, so the History island imports the list itself without shipping zod to the browser.
 */
export const INTERVALS = ["1m", "5m", "15m", "1h", "1d"] as const;
/** A candle interval. */
export type Interval = (typeof INTERVALS)[number];
