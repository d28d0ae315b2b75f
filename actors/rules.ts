import type { Alert } from "../schema/alert.ts";
import type { Rule } from "../schema/rule.ts";
import type { MarketHours } from "../schema/tick.ts";
import type { Ewma } from "./candle.ts";
import { round4 } from "./window.ts";

/** Minutes of history the EWMAs need before spike and anomaly rules may fire. */
export const WARMUP_MINUTES = 10;

/** What a rule remembers between ticks; part of the actor's snapshot. */
export interface RuleState {
  /** Whether the next crossing fires; null until the first value is seen (price rules need a real crossing). */
  armed: boolean | null;
  /** Tick time of the last alert, for the cooldown. */
  lastFiredAt: number | null;
}

/** The figures rules read, computed once per tick by the actor. */
export interface RuleContext {
  symbol: string;
  time: number;
  price: number;
  priceHint: number;
  marketHours: MarketHours;
  /** The day's change in percent, when known. */
  dayChangePercent: number | undefined;
  /** Highest and lowest price per window name. */
  windowHigh(window: string): number;
  windowLow(window: string): number;
  /** Volume of the minute in progress. */
  minuteVolume: number;
  /** Log return of the minute in progress against the last closed minute's close (NaN before one closed). */
  minuteReturn: number;
  volumeEwma: Ewma;
  returnEwma: Ewma;
}

/** A new rule's state. */
export function newRuleState(rule: Rule): RuleState {
  return { armed: rule.kind === "price_above" || rule.kind === "price_below" ? null : true, lastFiredAt: null };
}

/** The rule's current value, whether it is beyond the threshold, and whether it is back past the re-arm band. */
interface Reading {
  crossed: boolean;
  rearmed: boolean;
  changePercent: number;
  message: string;
  window: Alert["window"];
}

function read(rule: Rule, c: RuleContext): Reading | undefined {
  const px = c.price.toFixed(c.priceHint);
  const day = c.dayChangePercent ?? 0;
  const band = rule.rearm;
  switch (rule.kind) {
    case "price_above":
      return {
        crossed: c.price >= rule.price,
        rearmed: c.price <= rule.price * (1 - band / 100),
        changePercent: day,
        message: `${c.symbol} rose above ${rule.price.toFixed(c.priceHint)} to ${px}`,
        window: "",
      };
    case "price_below":
      return {
        crossed: c.price <= rule.price,
        rearmed: c.price >= rule.price * (1 + band / 100),
        changePercent: day,
        message: `${c.symbol} fell below ${rule.price.toFixed(c.priceHint)} to ${px}`,
        window: "",
      };
    case "pct_change": {
      const minutes = rule.window.replace("m", " min");
      if (rule.direction === "drop") {
        const high = c.windowHigh(rule.window);
        if (!(high > 0)) return undefined;
        const v = (c.price - high) / high * 100;
        return {
          crossed: v <= -rule.percent,
          rearmed: v >= -rule.percent + band,
          changePercent: round4(v),
          message: `${c.symbol} fell ${(-v).toFixed(1)}% in ${minutes} to ${px}`,
          window: rule.window,
        };
      }
      const low = c.windowLow(rule.window);
      if (!(low > 0)) return undefined;
      const v = (c.price - low) / low * 100;
      return {
        crossed: v >= rule.percent,
        rearmed: v <= rule.percent - band,
        changePercent: round4(v),
        message: `${c.symbol} rose ${v.toFixed(1)}% in ${minutes} to ${px}`,
        window: rule.window,
      };
    }
    case "day_change": {
      if (c.dayChangePercent === undefined) return undefined;
      const v = c.dayChangePercent;
      const down = rule.percent < 0;
      return {
        crossed: down ? v <= rule.percent : v >= rule.percent,
        rearmed: down ? v >= rule.percent + band : v <= rule.percent - band,
        changePercent: v,
        message: `${c.symbol} is ${down ? "down" : "up"} ${Math.abs(v).toFixed(1)}% today at ${px}`,
        window: "",
      };
    }
    case "volume_spike": {
      const e = c.volumeEwma;
      if (e.n < WARMUP_MINUTES || !(e.mean > 0)) return undefined;
      const ratio = c.minuteVolume / e.mean;
      return {
        crossed: ratio >= rule.factor,
        rearmed: ratio <= rule.factor * (1 - band / 100),
        changePercent: day,
        message: `${c.symbol} traded ${ratio.toFixed(1)}x its usual minute volume at ${px}`,
        window: "1m",
      };
    }
    case "anomaly": {
      const e = c.returnEwma;
      if (e.n < WARMUP_MINUTES || !(e.variance > 0) || !Number.isFinite(c.minuteReturn)) return undefined;
      const z = (c.minuteReturn - e.mean) / Math.sqrt(e.variance);
      return {
        crossed: Math.abs(z) >= rule.zScore,
        rearmed: Math.abs(z) <= rule.zScore * (1 - band / 100),
        changePercent: round4((Math.exp(c.minuteReturn) - 1) * 100),
        message: `${c.symbol} moved ${Math.abs(z).toFixed(1)} standard deviations ${
          z < 0 ? "down" : "up"
        } this minute to ${px}`,
        window: "1m",
      };
    }
  }
}

/**
 * Moves one rule on one tick; returns the alert when this tick is the crossing.
 *
 * A rule fires when it is armed and the value is beyond its threshold, then disarms; it re-arms only once the value
 * is back past the `rearm` band, so one crossing gives one alert however long the price stays beyond it. Within the
 * cooldown after an alert a crossing does not fire (and the rule stays armed for when the cooldown ends). Expired,
 * disabled and (when muted) out-of-session rules neither fire nor change state.
 */
export function evaluateRule(rule: Rule, state: RuleState, c: RuleContext): Alert | undefined {
  if (!rule.enabled) return undefined;
  if (rule.expiresAt !== undefined && c.time > rule.expiresAt) return undefined;
  if (rule.muteOutsideRegular && c.marketHours !== "regular") return undefined;
  const r = read(rule, c);
  if (!r) return undefined;
  if (state.armed === null) {
    state.armed = !r.crossed;
    return undefined;
  }
  if (!state.armed) {
    if (r.rearmed) state.armed = true;
    return undefined;
  }
  if (!r.crossed) return undefined;
  if (state.lastFiredAt !== null && c.time < state.lastFiredAt + rule.cooldownMs) return undefined;
  state.armed = false;
  state.lastFiredAt = c.time;
  return {
    id: alertId(rule.id, c.symbol, c.time),
    time: c.time,
    symbol: c.symbol,
    ruleId: rule.id,
    userId: rule.userId,
    kind: rule.kind,
    window: r.window,
    message: r.message,
    price: c.price,
    changePercent: r.changePercent,
  };
}

/** A deterministic alert id: two FNV-1a hashes of rule, symbol and crossing time, as 16 hex digits. */
export function alertId(ruleId: string, symbol: string, time: number): string {
  const s = `${ruleId}|${symbol}|${time}`;
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    a = Math.imul(a ^ ch, 0x01000193);
    b = Math.imul(b ^ ch, 0x01000193) ^ (b >>> 13);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}
