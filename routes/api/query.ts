import { z } from "zod";

/** Latest epoch millisecond a query accepts (year 2286), so every time fits ClickHouse's DateTime64 and JS numbers. */
export const MAX_EPOCH_MS = 9_999_999_999_999;

/**
 * A time in a query string: epoch milliseconds as plain digits. Every endpoint parses times with this one schema, so
 * `1e2`, `1.5` or a negative number get the same 400 everywhere.
 */
export const timeParam = (what: string) =>
  z.string({ error: `${what} is required` }).regex(/^\d{1,13}$/, { error: `${what} must be epoch milliseconds` })
    .transform(Number).refine((n) => n <= MAX_EPOCH_MS, { error: `${what} must be epoch milliseconds` });

/** A page size in a query string: plain digits from 1 to `max`, `fallback` when absent. */
export const limitParam = (max: number, fallback: number) =>
  z.string().regex(/^\d{1,6}$/, { error: `limit must be 1-${max}, in plain digits` }).transform(Number)
    .refine((n) => n >= 1 && n <= max, { error: `limit must be 1-${max}, in plain digits` }).default(fallback);

/** Adds the one range rule every endpoint applies: `from` (or `since`) must come before `to` (or `until`). */
export function orderedRange(first: string, second: string) {
  return (q: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const a = q[first];
    const b = q[second];
    if (typeof a === "number" && typeof b === "number" && a >= b) {
      ctx.addIssue({ code: "custom", path: [first], message: `${first} must be before ${second}` });
    }
  };
}
