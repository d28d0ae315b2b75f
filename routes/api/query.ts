import { z } from "zod";

/** Latest epoch millisecond a query accepts (year 2286), so every time fits ClickHouse's DateTime64 and JS numbers. */
export const MAX_EPOCH_MS = 9_999_999_999_999;

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Epoch ms of an ISO 8601 date (`2026-11-20`, midnight UTC) or date and time (`2026-11-20T14:30`,
 * `2026-11-20T14:30:00-05:00`; UTC when no offset is given). Undefined when it is not one, or names no real day.
 */
export function parseIsoTime(s: string): number | undefined {
  const m = ISO_TIME.exec(s);
  if (!m) return undefined;
  const t = Date.parse(m[4] === undefined ? `${s}T00:00:00Z` : m[7] === undefined ? `${s}Z` : s);
  // Date.parse rolls 2026-02-30 over into March: the calendar day must survive the round trip.
  const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(t) || new Date(day).getUTCDate() !== Number(m[3]) || Number(m[2]) > 12) return undefined;
  if (Number(m[4] ?? 0) > 23 || Number(m[5] ?? 0) > 59 || Number(m[6] ?? 0) > 59) return undefined;
  return t;
}

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
