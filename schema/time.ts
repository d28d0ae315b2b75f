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
