import type { Progress } from "./ohlcv_job.ts";

const num = new Intl.NumberFormat("en-US");

/** "1:05" for 65 s, "1:02:05" past an hour; "--" when unknown. */
export function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "--";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/** One terminal line: a bar of `width` cells, symbols done, candles written, rate and ETA. */
export function progressBar(p: Progress, width = 24): string {
  const frac = p.symbolsTotal > 0 ? p.symbolsDone / p.symbolsTotal : 1;
  const full = Math.round(frac * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${p.symbolsDone}/${p.symbolsTotal} symbols · ` +
    `${num.format(p.candlesWritten)} candles · ${num.format(Math.round(p.rate))}/s · ETA ${duration(p.etaMs)}`;
}

/** One plain log line for output that is not a terminal. */
export function progressLine(p: Progress): string {
  return `backfill: ${p.symbolsDone}/${p.symbolsTotal} symbols, ${p.candlesWritten} candles, ` +
    `${Math.round(p.rate)} candles/s, ETA ${duration(p.etaMs)}`;
}
