/**
 * The demo market behind FEED=synthetic: per-symbol price dynamics, the NYSE session, and the history a first start
 * writes so charts and indicators work from the first minute. Everything here is demo data and says so
 * (`source: "synthetic"`).
 */
import { isTradingDay } from "../jobs/calendar.ts";
import { exchangeDay, usSession } from "../schema/exchange.ts";

/** Milliseconds in a trading year: 252 sessions of 6.5 hours. Volatility and jump rates are per trading year. */
export const TRADING_YEAR_MS = 252 * 6.5 * 3_600_000;

/** How one symbol's demo price moves. */
export interface DemoProfile {
  /** Annualized volatility of log returns, 0.15-0.60. */
  volatility: number;
  /** Annual drift of log prices. */
  drift: number;
  /** Jumps per trading year, and their typical size (sd of the log jump). */
  jumpsPerYear: number;
  jumpSize: number;
  /** Where a symbol with no stored state starts. */
  startPrice: number;
}

function hash(s: string, salt: number): number {
  let h = 2166136261 ^ salt;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  return ((h ^ (h >>> 13)) >>> 0) / 2 ** 32;
}

/**
 * The fixed profile of `symbol`: the same on every start, so its character does not change across restarts.
 *
 * @example
 * ```ts
 * demoProfile("TSLA").volatility; // between 0.15 and 0.60
 * ```
 */
export function demoProfile(symbol: string): DemoProfile {
  return {
    volatility: 0.15 + 0.45 * hash(symbol, 1),
    drift: 0.06,
    jumpsPerYear: 4,
    jumpSize: 0.03,
    startPrice: Math.round((20 + 480 * hash(symbol, 2)) * 100) / 100,
  };
}

/**
 * One step of the demo walk over `dtMs` of elapsed time: geometric Brownian motion plus Poisson jumps, scaled by the
 * elapsed time, so a path's statistics do not depend on how many ticks sample it.
 *
 * @param normal a standard normal draw; `uniform` a draw in [0, 1) for the jump
 * @returns the log return
 */
export function demoLogReturn(p: DemoProfile, dtMs: number, normal: () => number, uniform: () => number): number {
  const dt = Math.max(0, dtMs) / TRADING_YEAR_MS;
  const sigma = p.volatility;
  let r = (p.drift - sigma * sigma / 2) * dt + sigma * Math.sqrt(dt) * normal();
  if (uniform() < p.jumpsPerYear * dt) r += p.jumpSize * normal();
  return r;
}

/** The NYSE session of `time`: the US session on trading days, "closed" on weekends and exchange holidays. */
export function demoSession(time: number): "pre" | "regular" | "post" | "closed" {
  return isTradingDay(exchangeDay(time)) ? usSession(time) : "closed";
}
