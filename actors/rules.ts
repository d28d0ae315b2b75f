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
  /** A `once` rule that fired: it fires again only once saved anew (enabled again after it paused itself). */
  spent?: boolean;
  /** The `updatedAt` of the rule when it was spent. */
  spentRev?: number;
  /** The rule's settings this state was built for ({@link ruleSignature}); an edited rule starts afresh. */
  sig?: string;
}

const signatures = new WeakMap<Rule, string>();

/**
 * The rule's settings as one string (all but the save stamp), computed once per rule object: a state built for
 * another signature belongs to the rule before an edit (a new level, trigger or window) and is replaced.
 */
export function ruleSignature(rule: Rule): string {
  let s = signatures.get(rule);
  if (s === undefined) signatures.set(rule, s = JSON.stringify({ ...rule, updatedAt: undefined }));
  return s;
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
  // A price rule waits to see the first price, so one created beyond its level does not fire at once, unless the
  // user asked it to (ifAlreadyTrue: "fire").
  const price = rule.kind === "price_above" || rule.kind === "price_below";
  return { armed: price && rule.ifAlreadyTrue !== "fire" ? null : true, lastFiredAt: null, sig: ruleSignature(rule) };
}

/** The rule's reading on one tick; one object reused for every evaluation (this runs for every tick and rule). */
interface Reading {
  crossed: boolean;
  rearmed: boolean;
  /** The figure the alert reports: the window move, the day change, the minute's return. */
  changePercent: number;
  /** Volume ratio or z-score, for the message. */
  figure: number;
}
const reading: Reading = { crossed: false, rearmed: false, changePercent: 0, figure: 0 };

/** Fills {@link reading}; false when the rule cannot be read yet (no window data, EWMA warming up). */
function read(rule: Rule, c: RuleContext): boolean {
  const r = reading;
  const band = rule.rearm;
  r.changePercent = c.dayChangePercent ?? 0;
  switch (rule.kind) {
    case "price_above":
      r.crossed = c.price >= rule.price;
      r.rearmed = c.price <= rule.price * (1 - band / 100);
      return true;
    case "price_below":
      r.crossed = c.price <= rule.price;
      r.rearmed = c.price >= rule.price * (1 + band / 100);
      return true;
    case "pct_change": {
      if (rule.direction === "drop") {
        const high = c.windowHigh(rule.window);
        if (!(high > 0)) return false;
        const v = (c.price - high) / high * 100;
        r.crossed = v <= -rule.percent;
        r.rearmed = v >= -rule.percent + band;
        r.changePercent = v;
        return true;
      }
      const low = c.windowLow(rule.window);
      if (!(low > 0)) return false;
      const v = (c.price - low) / low * 100;
      r.crossed = v >= rule.percent;
      r.rearmed = v <= rule.percent - band;
      r.changePercent = v;
      return true;
    }
    case "day_change": {
      if (c.dayChangePercent === undefined) return false;
      const v = c.dayChangePercent;
      const down = rule.percent < 0;
      r.crossed = down ? v <= rule.percent : v >= rule.percent;
      r.rearmed = down ? v >= rule.percent + band : v <= rule.percent - band;
      return true;
    }
    case "volume_spike": {
      const e = c.volumeEwma;
      if (e.n < WARMUP_MINUTES || !(e.mean > 0)) return false;
      const ratio = c.minuteVolume / e.mean;
      r.crossed = ratio >= rule.factor;
      r.rearmed = ratio <= rule.factor * (1 - band / 100);
      r.figure = ratio;
      return true;
    }
    case "anomaly": {
      const e = c.returnEwma;
      if (e.n < WARMUP_MINUTES || !(e.variance > 0) || !Number.isFinite(c.minuteReturn)) return false;
      const z = (c.minuteReturn - e.mean) / Math.sqrt(e.variance);
      r.crossed = Math.abs(z) >= rule.zScore;
      r.rearmed = Math.abs(z) <= rule.zScore * (1 - band / 100);
      r.changePercent = (Math.exp(c.minuteReturn) - 1) * 100;
      r.figure = z;
      return true;
    }
  }
}

/** The sentence a person reads, built only when the rule fires. */
function describe(rule: Rule, c: RuleContext, r: Reading): string {
  const px = c.price.toFixed(c.priceHint);
  switch (rule.kind) {
    case "price_above": {
      const level = rule.price.toFixed(c.priceHint);
      return px === level
        ? `${c.symbol} reached ${level} (alert at or above ${level})`
        : `${c.symbol} rose above ${level} to ${px}`;
    }
    case "price_below": {
      const level = rule.price.toFixed(c.priceHint);
      return px === level
        ? `${c.symbol} reached ${level} (alert at or below ${level})`
        : `${c.symbol} fell below ${level} to ${px}`;
    }
    case "pct_change": {
      const span = rule.window.replace("m", " min");
      return rule.direction === "drop"
        ? `${c.symbol} fell ${(-r.changePercent).toFixed(1)}% in ${span} to ${px}`
        : `${c.symbol} rose ${r.changePercent.toFixed(1)}% in ${span} to ${px}`;
    }
    case "day_change":
      return `${c.symbol} is ${rule.percent < 0 ? "down" : "up"} ${
        Math.abs(r.changePercent).toFixed(1)
      }% today at ${px}`;
    case "volume_spike":
      return `${c.symbol} traded ${r.figure.toFixed(1)}x its usual minute volume at ${px}`;
    case "anomaly":
      return `${c.symbol} moved ${Math.abs(r.figure).toFixed(1)} standard deviations ${
        r.figure < 0 ? "down" : "up"
      } this minute to ${px}`;
  }
}

const WINDOW_OF: Partial<Record<Rule["kind"], Alert["window"]>> = { volume_spike: "1m", anomaly: "1m" };

/**
 * Moves one rule on one tick; returns the alert when this tick is the crossing.
 *
 * A rule fires when it is armed and the value is beyond its threshold, then disarms; it re-arms only once the value
 * is back past the `rearm` band, so one crossing gives one alert however long the price stays beyond it. Within the
 * cooldown after an alert a crossing does not fire (and the rule stays armed for when the cooldown ends). A `once`
 * rule is spent by its alert. Expired, disabled and (when muted) out-of-session rules neither fire nor change state.
 * Which readings reach it is the caller's choice: every tick, or for `bar_close` rules each closed minute.
 *
 * @example
 * ```ts
 * const state = newRuleState(rule);
 * const alert = evaluateRule(rule, state, context); // undefined until the threshold is crossed
 * ```
 */
export function evaluateRule(rule: Rule, state: RuleState, c: RuleContext): Alert | undefined {
  if (!rule.enabled) return undefined;
  if (rule.expiresAt !== undefined && c.time > rule.expiresAt) return undefined;
  if (rule.muteOutsideRegular && c.marketHours !== "regular") return undefined;
  if (state.spent) {
    // Still the rule that was spent (its pause may not have arrived yet): silent. Saved since: it starts afresh.
    if ((rule.updatedAt ?? 0) === state.spentRev) return undefined;
    Object.assign(state, newRuleState(rule), { spent: false });
  }
  if (!read(rule, c)) return undefined;
  const r = reading;
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
  if (rule.trigger === "once") {
    state.spent = true;
    state.spentRev = rule.updatedAt ?? 0;
  }
  return {
    id: alertId(rule.id, c.symbol, c.time),
    time: c.time,
    symbol: c.symbol,
    ruleId: rule.id,
    userId: rule.userId,
    kind: rule.kind,
    window: rule.kind === "pct_change" ? rule.window : WINDOW_OF[rule.kind] ?? "",
    message: describe(rule, c, r),
    price: c.price,
    changePercent: round4(r.changePercent),
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
