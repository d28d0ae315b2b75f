import { exchangeOpen } from "../schema/exchange.ts";
import { isEarlyClose, tradingDays } from "../jobs/calendar.ts";
import { insertBars, symbolsWithDaily } from "../store/queries/candles.ts";
import type { Bar } from "../schema/candle.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../schema/log.ts";
import type { Quote } from "../schema/quote.ts";
import type { DemoStart } from "./synthetic.ts";
import { demoLogReturn, type DemoProfile, demoProfile, TRADING_YEAR_MS } from "./demo_market.ts";

const DAY = 86_400_000;
const MINUTE = 60_000;
const SESSION_MINUTES = 390;
/** 09:30-13:00 on the NYSE's early-close days. */
const EARLY_CLOSE_MINUTES = 210;

/** What {@link generateDemoHistory} wrote for one symbol. */
export interface DemoHistory {
  symbol: string;
  daily: number;
  minutes: number;
  /** Close of the last minute written: where the live walk starts. */
  lastClose: number;
  lastTime: number;
  /** Close of the last full session before the last minute's day: the live walk's previous close. */
  previousClose: number;
}

/** Options of {@link generateDemoHistory}. */
export interface DemoHistoryOptions {
  store: Store;
  symbols: readonly string[];
  now: number;
  /** Daily candles back this many years (default 5) and minute candles back this many trading days (default 30). */
  years?: number;
  minuteDays?: number;
  /** The price each symbol's history must end at (its current price); default its profile's start price. */
  endPrice?: (symbol: string) => number | undefined;
  profile?: (symbol: string) => DemoProfile;
  seed?: number;
}

/**
 * Writes demo history for the symbols that have none: five years of daily candles and 30 trading days of minute
 * candles per symbol, on the NYSE calendar, walked backwards from the symbol's current price with the same dynamics
 * as the live demo walk, so the charts, SMA/EMA and the day's change work from the first minute and the live price
 * continues the series without a gap. Days of minute history are the aggregate of their minutes.
 *
 * @returns per symbol what was written (symbols that already had daily candles are skipped)
 * @example
 * ```ts
 * const written = await generateDemoHistory({ store, symbols: ["AAPL"], now: Date.now() });
 * ```
 */
export async function generateDemoHistory(o: DemoHistoryOptions): Promise<DemoHistory[]> {
  const years = o.years ?? 5;
  const minuteDays = o.minuteDays ?? 30;
  const profileOf = o.profile ?? demoProfile;
  let state = (o.seed ?? 20_260_101) >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-12))) * Math.cos(2 * Math.PI * uniform());
  const existing = await symbolsWithDaily(o.store, o.symbols);
  const out: DemoHistory[] = [];
  // Sessions that have started by `now`; today's runs to the last whole minute.
  const days = tradingDays(o.now - (years * 365.25 + 7) * DAY, o.now).filter((d) => exchangeOpen(d) + MINUTE <= o.now);
  if (days.length === 0) return out;
  const minuteSpan = days.slice(-minuteDays);
  const dailyOnly = days.slice(0, days.length - minuteSpan.length);
  for (const symbol of o.symbols) {
    if (existing.has(symbol)) continue;
    const p = profileOf(symbol);
    const end = o.endPrice?.(symbol) ?? p.startPrice;
    const sigmaMinute = p.volatility * Math.sqrt(MINUTE / TRADING_YEAR_MS);
    const sigmaDay = p.volatility * Math.sqrt(6.5 * 3_600_000 / TRADING_YEAR_MS);

    // Minutes, newest first: each minute's open is the close before it.
    const minutes: Bar[] = [];
    let close = end;
    for (let d = minuteSpan.length - 1; d >= 0; d--) {
      const open = exchangeOpen(minuteSpan[d]!);
      const session = isEarlyClose(minuteSpan[d]!) ? EARLY_CLOSE_MINUTES : SESSION_MINUTES;
      const count = Math.min(session, Math.floor((o.now - open) / MINUTE));
      for (let m = count - 1; m >= 0; m--) {
        // The first minute of a session also carries the overnight move.
        const dt = m === 0 ? MINUTE + 3_600_000 : MINUTE;
        const before = close / Math.exp(demoLogReturn(p, dt, normal, uniform));
        const wick = () => Math.exp(Math.abs(normal()) * sigmaMinute * 0.6);
        minutes.push({
          time: open + m * MINUTE,
          open: round(before),
          high: round(Math.max(before, close) * wick()),
          low: round(Math.min(before, close) / wick()),
          close: round(close),
          volume: Math.round(2_000 + 8_000 * uniform() * (1 + (m < 30 || m > 360 ? 2 : 0))),
        });
        close = before;
      }
    }
    minutes.reverse();
    // Days with minutes are their aggregate; older days walk on backwards from the first minute's open.
    const daily: Bar[] = [];
    for (const d of minuteSpan) {
      const open = exchangeOpen(d);
      const of = minutes.filter((b) => b.time >= open && b.time < open + DAY);
      if (of.length === 0) continue;
      daily.push({
        time: d,
        open: of[0]!.open,
        high: Math.max(...of.map((b) => b.high)),
        low: Math.min(...of.map((b) => b.low)),
        close: of.at(-1)!.close,
        volume: of.reduce((s, b) => s + b.volume, 0),
      });
    }
    const older: Bar[] = [];
    let next = daily[0]?.open ?? end;
    for (let d = dailyOnly.length - 1; d >= 0; d--) {
      const c = next / Math.exp(0.2 * sigmaDay * normal()); // overnight gap into the next session
      const o2 = c / Math.exp(demoLogReturn(p, 6.5 * 3_600_000, normal, uniform));
      const wick = () => Math.exp(Math.abs(normal()) * sigmaDay * 0.4);
      older.push({
        time: dailyOnly[d]!,
        open: round(o2),
        high: round(Math.max(o2, c) * wick()),
        low: round(Math.min(o2, c) / wick()),
        close: round(c),
        volume: Math.round(2e6 + 6e6 * uniform()),
      });
      next = o2;
    }
    older.reverse();
    const allDaily = [...older, ...daily];
    const version = o.now;
    await insertBars(o.store, "1d", symbol, allDaily, "synthetic", version, 5_000);
    await insertBars(o.store, "1m", symbol, minutes, "synthetic", version, 20_000);
    const last = minutes.at(-1);
    const lastDay = allDaily.at(-1);
    const prior = allDaily.at(-2);
    out.push({
      symbol,
      daily: allDaily.length,
      minutes: minutes.length,
      lastClose: last?.close ?? end,
      lastTime: last?.time ?? o.now,
      // The session before the last minute's: the close the live walk's day change is measured from.
      previousClose: (last ? prior?.close : lastDay?.close) ?? end,
    });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * The demo market's starting points: each symbol resumes from its actor's last quote in KV (a restart continues the
 * path: no jump, no false alert); a symbol without one gets generated history (SYNTHETIC_HISTORY) ending at its
 * profile's price, and starts where that history ends.
 *
 * @example
 * ```ts
 * const start = await demoStarts({ store, symbols, savedQuote: (s) => actors.savedQuote(s), history: true, log });
 * const feed = new SyntheticFeed({ sink, start });
 * ```
 */
export async function demoStarts(
  o: {
    store: Store;
    symbols: readonly string[];
    /** The last quote an actor saved for a symbol (its snapshot). */
    savedQuote: (symbol: string) => Promise<Quote | undefined>;
    /** Write generated history for symbols without (SYNTHETIC_HISTORY). */
    history: boolean;
    log: Logger;
  },
): Promise<(symbol: string) => DemoStart | undefined> {
  const { store, symbols, log } = o;
  const starts = new Map<string, DemoStart>();
  for (const s of symbols) {
    const q = await o.savedQuote(s);
    if (q) {
      starts.set(s, {
        price: q.price,
        previousClose: q.previousClose,
        time: q.time,
        dayHigh: q.dayHigh,
        dayLow: q.dayLow,
        dayVolume: q.dayVolume,
      });
    }
  }
  if (o.history) {
    const started = performance.now();
    try {
      const written = await generateDemoHistory({
        store,
        symbols,
        now: Date.now(),
        endPrice: (s) => starts.get(s)?.price,
      });
      for (const h of written) {
        if (!starts.has(h.symbol)) {
          starts.set(h.symbol, { price: h.lastClose, previousClose: h.previousClose, time: h.lastTime });
        }
      }
      if (written.length > 0) {
        log("info", "demo history written", {
          symbols: written.length,
          dailyCandles: written.reduce((n, h) => n + h.daily, 0),
          minuteCandles: written.reduce((n, h) => n + h.minutes, 0),
          ms: Math.round(performance.now() - started),
        });
      }
    } catch (err) {
      log("warn", "demo history not written; charts fill from live ticks", { error: String(err) });
    }
  }
  return (s) => starts.get(s);
}
