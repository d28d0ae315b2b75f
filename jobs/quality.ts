import { exchangeClock } from "../schema/exchange.ts";
import { isEarlyClose, isTradingDay, tradingDays } from "./calendar.ts";
import type { Bar, FetchInterval, Split } from "./providers.ts";

/** Most examples kept per check. */
const EXAMPLES = 10;

/** Counts and a few examples of one data-quality check. */
export interface Check {
  count: number;
  examples: Record<string, unknown>[];
}

/** What the checks found in one run, by check. */
export interface Findings {
  /** Bars where low > min(open, close) or high < max(open, close), or low > high. */
  ohlc: Check;
  /** Trading days (daily) or regular-session minutes (1-minute) with no bar, between the first and last bar. */
  gaps: Check;
  /** The provider sent the same bar time more than once. */
  duplicates: Check;
  /** Close-to-close moves past the threshold that no split on that day explains. */
  jumps: Check;
  /** Bars with missing values (halted minutes) that were not written. */
  incomplete: Check;
  /** Symbols the provider does not know. */
  unknownSymbols: Check;
  /** Symbols whose fetch failed after the retries. */
  errors: Check;
}

/** Empty findings. */
export function emptyFindings(): Findings {
  const c = () => ({ count: 0, examples: [] });
  return {
    ohlc: c(),
    gaps: c(),
    duplicates: c(),
    jumps: c(),
    incomplete: c(),
    unknownSymbols: c(),
    errors: c(),
  };
}

/** Adds one occurrence (or `n`) to `check`, keeping the first few examples. */
export function note(check: Check, example: Record<string, unknown>, n = 1): void {
  check.count += n;
  if (check.examples.length < EXAMPLES) check.examples.push(example);
}

/** Largest close-to-close move, in percent, that is not a jump (default 25% daily, 10% per minute). */
export const JUMP_PERCENT: Record<FetchInterval, number> = { "1d": 25, "1m": 10 };

const iso = (t: number) => new Date(t).toISOString();

/**
 * Runs the data-quality checks over one symbol's bars of one interval (sorted by time, duplicates already removed)
 * and adds what they find to `findings`.
 *
 * Gaps are counted against the NYSE calendar: weekends and exchange holidays are not gaps, and 1-minute bars are
 * expected only in the regular session (09:30-16:00 New York, 13:00 on early-close days) of days that have bars.
 */
export function checkBars(
  findings: Findings,
  symbol: string,
  interval: FetchInterval,
  bars: readonly Bar[],
  splits: readonly Split[],
  jumpPercent = JUMP_PERCENT[interval],
): void {
  for (const b of bars) {
    if (b.low > Math.min(b.open, b.close) || b.high < Math.max(b.open, b.close) || b.low > b.high) {
      note(findings.ohlc, {
        symbol,
        interval,
        time: iso(b.time),
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
      });
    }
  }
  if (bars.length === 0) return;
  if (interval === "1d") {
    const have = new Set(bars.map((b) => b.time));
    for (const d of tradingDays(bars[0]!.time, bars.at(-1)!.time)) {
      if (!have.has(d)) note(findings.gaps, { symbol, interval, missing: iso(d).slice(0, 10) });
    }
  } else {
    const byDay = new Map<number, Set<number>>();
    for (const b of bars) {
      const { day, minute } = exchangeClock(b.time);
      let set = byDay.get(day);
      if (!set) byDay.set(day, set = new Set());
      set.add(minute);
    }
    const first = exchangeClock(bars[0]!.time), last = exchangeClock(bars.at(-1)!.time);
    for (const [day, minutes] of byDay) {
      if (!isTradingDay(day)) continue;
      const close = isEarlyClose(day) ? 13 * 60 : 16 * 60;
      const lo = day === first.day ? Math.max(570, first.minute) : 570;
      const hi = day === last.day ? Math.min(close, last.minute + 1) : close;
      let missing = 0;
      let firstMissing = -1;
      for (let m = lo; m < hi; m++) {
        if (!minutes.has(m)) {
          missing++;
          if (firstMissing < 0) firstMissing = m;
        }
      }
      if (missing > 0) {
        const hh = String(Math.floor(firstMissing / 60)).padStart(2, "0"),
          mm = String(firstMissing % 60).padStart(2, "0");
        note(findings.gaps, {
          symbol,
          interval,
          day: iso(day).slice(0, 10),
          missingMinutes: missing,
          from: `${hh}:${mm} ET`,
        }, missing);
      }
    }
  }
  const splitOn = new Map(splits.map((s) => [s.time - (s.time % 86_400_000), s.ratio]));
  for (let i = 1; i < bars.length; i++) {
    const prev = bars[i - 1]!.close, cur = bars[i]!.close;
    if (prev <= 0) continue;
    const move = (cur / prev - 1) * 100;
    if (Math.abs(move) <= jumpPercent) continue;
    const ratio = splitOn.get(bars[i]!.time - (bars[i]!.time % 86_400_000));
    // A split of r:1 divides the price by r; an unadjusted series then moves by about 1/r.
    if (ratio && Math.abs((cur * ratio) / prev - 1) * 100 <= jumpPercent) continue;
    note(findings.jumps, {
      symbol,
      interval,
      time: iso(bars[i]!.time),
      from: prev,
      to: cur,
      percent: Math.round(move * 100) / 100,
    });
  }
}

/** Sorts `bars` by time and drops repeated times (the last one wins), counting each repeat as a duplicate. */
export function dedupe(findings: Findings, symbol: string, interval: FetchInterval, bars: readonly Bar[]): Bar[] {
  const byTime = new Map<number, Bar>();
  for (const b of bars) {
    if (byTime.has(b.time)) note(findings.duplicates, { symbol, interval, time: iso(b.time) });
    byTime.set(b.time, b);
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}
