import { z } from "zod";
import { RULE_BOUNDS } from "./rule_bounds.ts";
import { symbolSchema } from "./symbol.ts";

/** Rolling windows an actor keeps, by name. */
export const WINDOWS = ["1m", "5m", "15m", "60m"] as const;
/** A rolling window's name. */
export type WindowName = (typeof WINDOWS)[number];
/** Length of each window in ms. */
export const WINDOW_MS: Record<WindowName, number> = { "1m": 60_000, "5m": 300_000, "15m": 900_000, "60m": 3_600_000 };

/** Every kind of alert rule. */
export const RULE_KINDS = [
  "price_above",
  "price_below",
  "pct_change",
  "day_change",
  "volume_spike",
  "anomaly",
] as const;
/** A kind of alert rule. */
export type RuleKind = (typeof RULE_KINDS)[number];

/** When a rule may fire (see the rule's `trigger`). */
export const TRIGGERS = ["every", "once", "bar_close"] as const;
/** A rule's trigger mode. */
export type Trigger = (typeof TRIGGERS)[number];

const windowSchema = z.enum(WINDOWS, { error: `window must be one of ${WINDOWS.join(", ")}` });

/** What the server assigns to every rule: a client's body never sets them. */
const assigned = {
  /** Stable id: the alert id is derived from it, so it must not change while the rule lives. */
  id: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, { error: "id is 1-64 of A-Z, a-z, 0-9, : _ -" }),
  /** Owner; empty for the built-in rule. */
  userId: z.string().max(64).default(""),
};

/** What every rule has besides its kind's parameters and the assigned fields. */
const common = {
  symbol: symbolSchema,
  /** After firing, the rule stays quiet this long (tick time; default 15 minutes). */
  cooldownMs: z.number().int().min(RULE_BOUNDS.cooldownMs.min).max(RULE_BOUNDS.cooldownMs.max).default(900_000),
  /** Epoch ms after which the rule no longer fires. */
  expiresAt: z.number().int().positive().optional(),
  /** When true, ticks outside the regular session neither fire nor move the rule. */
  muteOutsideRegular: z.boolean().default(false),
  /**
   * How far back the value must move past the threshold before the rule can fire again: percent of the level for
   * price rules, percentage points for change rules, a fraction of the factor for spike and anomaly rules.
   */
  rearm: z.number().min(0).max(50).default(0.5),
  /**
   * Price rules whose level the price is already past when the rule starts: `wait` (default) alerts at the next
   * crossing, once the price has come back past the level; `fire` alerts on the first tick.
   */
  ifAlreadyTrue: z.enum(["wait", "fire"], { error: "ifAlreadyTrue must be wait or fire" }).default("wait"),
  /**
   * When the rule may fire, after TradingView's trigger modes: `every` (default) at each crossing, subject to the
   * cooldown; `once` at the first crossing, after which the rule pauses itself (`enabled: false`; enabling it again
   * re-arms it); `bar_close` only when a one-minute bar closes beyond the threshold, judged on the bar's close, so a
   * wick through the level inside the minute does not fire.
   */
  trigger: z.enum(TRIGGERS, { error: `trigger must be one of ${TRIGGERS.join(", ")}` }).default("every"),
  enabled: z.boolean().default(true),
  /** Set by the server on every save (epoch ms, strictly increasing): a spent `once` rule saved again re-arms. */
  updatedAt: z.number().int().nonnegative().optional(),
};

/** A rule kind's tag; documented as a JSON Schema `const`, as JSON Schema itself spells a single value. */
const kind = <K extends RuleKind>(k: K) => z.literal(k).meta({ const: k });

const positive = (what: string) =>
  z.number({ error: `${what} must be a number` }).positive({ error: `${what} must be above 0` });

/** Every kind of rule, each with the fields of `base`. */
const variants = <B extends z.ZodRawShape>(base: B) =>
  [
    z.object({ ...base, kind: kind("price_above"), price: positive("price") }),
    z.object({ ...base, kind: kind("price_below"), price: positive("price") }),
    z.object({
      ...base,
      kind: kind("pct_change"),
      direction: z.enum(["rise", "drop"], { error: "direction must be rise or drop" }),
      percent: positive("percent").max(RULE_BOUNDS.pctChange.max, {
        error: `percent must be at most ${RULE_BOUNDS.pctChange.max}`,
      }),
      window: windowSchema,
    }),
    z.object({
      ...base,
      kind: kind("day_change"),
      percent: z.number().min(RULE_BOUNDS.dayChange.min).max(RULE_BOUNDS.dayChange.max)
        .refine((n) => n !== 0, { error: "percent must not be 0" }),
    }),
    z.object({
      ...base,
      kind: kind("volume_spike"),
      factor: positive("factor").min(RULE_BOUNDS.volumeSpike.min).max(RULE_BOUNDS.volumeSpike.max),
    }),
    z.object({
      ...base,
      kind: kind("anomaly"),
      zScore: positive("zScore").min(RULE_BOUNDS.anomaly.min).max(RULE_BOUNDS.anomaly.max),
    }),
  ] as const;
const kindError = { error: `kind must be one of ${RULE_KINDS.join(", ")}` };

/**
 * An alert rule. One crossing of its threshold gives one alert; it re-arms only after the value moves back past the
 * `rearm` band, and after firing stays quiet for `cooldownMs`.
 *
 * - price_above / price_below: the last price crosses `price`.
 * - pct_change: within `window`, the price rises `percent` from the window's low (`direction: "rise"`) or drops
 *   `percent` from its high (`"drop"`).
 * - day_change: the day's change is at or below `percent` (negative: the built-in rule uses ALERT_THRESHOLD).
 * - volume_spike: this minute's volume reaches `factor` times the EWMA of minute volumes.
 * - anomaly: the return of this minute so far is more than `zScore` standard deviations (EWMA) from the mean.
 */
export const ruleSchema = z.discriminatedUnion("kind", variants({ ...assigned, ...common }), kindError);

/**
 * A rule as a client writes it (the body of POST and PUT /api/v1/rules): every kind, without the `id` and `userId`
 * the server assigns. Either key in a body is dropped, not an error.
 */
export const ruleBodySchema = z.discriminatedUnion("kind", variants(common), kindError);

/** An alert rule after validation. */
export type Rule = z.infer<typeof ruleSchema>;
/** An alert rule as written by a client (defaults not yet applied). */
export type RuleInput = z.input<typeof ruleSchema>;
