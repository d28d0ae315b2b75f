import { activeZone, dateFormat, zoneLabel } from "./tz.ts";

/** Price with the quote's decimals (price hint), grouped. */
export function fmtPrice(p: number, hint = 2): string {
  return p.toLocaleString("en-US", { minimumFractionDigits: hint, maximumFractionDigits: hint });
}

/** Signed change, e.g. "+1.25" / "−0.40". */
export function fmtChange(c: number, hint = 2): string {
  const s = Math.abs(c).toFixed(hint);
  return c > 0 ? `+${s}` : c < 0 ? `\u2212${s}` : s;
}

/** Signed percentage, e.g. "+1.23%". */
export function fmtPercent(p: number): string {
  const s = `${Math.abs(p).toFixed(2)}%`;
  return p > 0 ? `+${s}` : p < 0 ? `\u2212${s}` : s;
}

/** Compact volume: 1.2K, 3.4M, 5.6B. */
export function fmtVolume(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}K`;
  return String(v);
}

const TIME: Intl.DateTimeFormatOptions = {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
};
const MINUTE: Intl.DateTimeFormatOptions = {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
};

/** Date and time of an epoch-ms instant in the chosen zone (exchange or local), labelled: "Nov 20, 09:30:05 ET". */
export function fmtTime(ms: number): string {
  return `${dateFormat(TIME, activeZone()).format(ms)} ${zoneLabel(ms)}`;
}

/** "2026-11-20 09:30" in the chosen zone, for chart readouts of intraday candles. */
export function fmtMinute(ms: number): string {
  const p = Object.fromEntries(dateFormat(MINUTE, activeZone()).formatToParts(ms).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${zoneLabel(ms)}`;
}
