import { z } from "zod";
import { parseIsoTime } from "../../schema/time.ts";

export { parseIsoTime };

/** Latest epoch millisecond a query accepts (year 2286), so every time fits ClickHouse's DateTime64 and JS numbers. */
export const MAX_EPOCH_MS = 9_999_999_999_999;

/**
 * A time in a query string: epoch milliseconds as plain digits, or an ISO 8601 date or date and time (UTC unless
 * it carries an offset). Every endpoint parses times with this one schema, so `1e2`, `1.5`, a negative number or
 * `2026-02-30` get the same 400 everywhere.
 */
export const timeParam = (what: string) =>
  z.string({ error: `${what} is required` }).meta({
    description: "epoch milliseconds, or an ISO 8601 date (2026-11-20, midnight UTC) or date and time " +
      "(2026-11-20T14:30:00Z, 2026-11-20T09:30-05:00; UTC without an offset)",
  }).transform((s, ctx) => {
    const t = /^\d{1,13}$/.test(s) ? Number(s) : parseIsoTime(s);
    if (t === undefined || t < 0 || t > MAX_EPOCH_MS) {
      ctx.addIssue({
        code: "custom",
        message: `${what} must be epoch milliseconds or an ISO 8601 date or time (2026-11-20, 2026-11-20T14:30:00Z)`,
      });
      return z.NEVER;
    }
    return t;
  });

/**
 * A page size in a query string: plain digits from 1 to `max`, `fallback` when absent. The fallback is given as the
 * query string would carry it (and parsed like one), so the OpenAPI document's default is a string like its type.
 */
export const limitParam = (max: number, fallback: number) =>
  z.string().regex(/^\d{1,6}$/, { error: `limit must be 1-${max}, in plain digits` }).transform(Number)
    .refine((n) => n >= 1 && n <= max, { error: `limit must be 1-${max}, in plain digits` }).prefault(
      String(fallback),
    );

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
