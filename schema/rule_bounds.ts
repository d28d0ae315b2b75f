/**
 * The numeric bounds of alert rules, shared by the rule schema (schema/rule.ts) and the rule form in the browser. In
 * a module of its own, with no validation library, so the Alerts island checks a draft against the same numbers the
 * API enforces without shipping zod.
 */
export const RULE_BOUNDS = {
  /** Quiet time after an alert, in ms: up to a week. */
  cooldownMs: { min: 0, max: 7 * 86_400_000 },
  /** Percent move within a window (pct_change): above 0, at most 100. */
  pctChange: { max: 100 },
  /** Day change in percent (day_change): -100 to 1000, not 0. */
  dayChange: { min: -100, max: 1000 },
  /** Volume against its average (volume_spike). */
  volumeSpike: { min: 1.1, max: 1000 },
  /** Standard scores of the minute's return (anomaly). */
  anomaly: { min: 1, max: 50 },
} as const;
