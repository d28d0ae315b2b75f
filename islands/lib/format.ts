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

/** Local date and time of an epoch-ms instant. */
export function fmtTime(ms: number): string {
  return new Date(ms).toLocaleString("en-US", {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}
