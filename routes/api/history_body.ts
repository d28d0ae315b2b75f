import { createHash } from "node:crypto";
import type { HistoryCandle as Candle } from "../../schema/candle.ts";

/** The JSON of a stored candle list but its last candle, and that text's digest, made once per list. */
const prefixes = new WeakMap<readonly Candle[], { json: string; digest: string }>();

function prefixOf(stored: readonly Candle[]): { json: string; digest: string } {
  let p = prefixes.get(stored);
  if (!p) {
    const json = stored.slice(0, -1).map((c) => JSON.stringify(c)).join(",");
    p = { json, digest: createHash("sha256").update(json).digest("base64url") };
    prefixes.set(stored, p);
  }
  return p;
}

/**
 * The body and ETag of a history answer, without re-serializing what a cached candle list already holds.
 *
 * `candles` is `stored` with at most its last candle replaced and candles appended (the open minute merged in, today
 * added to daily candles). Everything before the last stored candle is serialized and hashed once per stored list
 * (the history cache hands out the same list until a write invalidates it); per request only the tail is. The body
 * is byte for byte `JSON.stringify({ symbol, interval, candles })`, and the ETag changes whenever it does.
 *
 * @param stored the candles as the store (or the history cache) returned them; never changed.
 * @param candles the candles to send.
 * @param extra more fields of the answer (what an on-demand fetch did, a notice), after `candles`.
 * @returns the JSON body and a strong ETag (quoted).
 * @example
 * ```ts
 * const { body, etag } = historyBody("AAPL", "1m", stored, [...stored.slice(0, -1), merged]);
 * ```
 */
export function historyBody(
  symbol: string,
  interval: string,
  stored: readonly Candle[],
  candles: readonly Candle[],
  extra?: Readonly<Record<string, unknown>>,
): { body: string; etag: string } {
  const keep = Math.max(0, stored.length - 1);
  // The contract, checked where it is cheap: the head ends with the stored list's own object.
  if (candles.length < keep || (keep > 0 && candles[keep - 1] !== stored[keep - 1])) {
    throw new Error("historyBody: candles must keep the stored candles but the last");
  }
  const prefix = prefixOf(stored);
  const tail = candles.slice(keep).map((c) => JSON.stringify(c)).join(",");
  const head = `{"symbol":${JSON.stringify(symbol)},"interval":${JSON.stringify(interval)},"candles":[`;
  const more = extra && Object.keys(extra).length > 0 ? `,${JSON.stringify(extra).slice(1, -1)}` : "";
  const body = `${head}${prefix.json}${prefix.json && tail ? "," : ""}${tail}]${more}}`;
  const etag = createHash("sha256").update(head).update(prefix.digest).update(tail).update(more).digest("base64url")
    .slice(0, 16);
  return { body, etag: `"${etag}"` };
}
