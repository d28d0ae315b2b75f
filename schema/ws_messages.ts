import type { Alert } from "./alert.ts";
import { mergeQuoteUpdate, type Quote, type QuoteUpdate, updateTick } from "./quote.ts";

/**
 * The frames of /ws/realtime (docs/websocket.md), as the server and the islands both type them, and how a client reads
 * quotes out of them. No validation library, so the browser bundle stays small; the server validates what clients
 * send with the zod schema in routes/ws.ts, which is checked against {@link ClientMessage}.
 */

/** What a client sends. */
export type ClientMessage =
  /** Follow `symbols`; with `ticks`, every print of them in order instead of the latest per flush. */
  | { type: "subscribe"; symbols: string[]; ticks?: boolean }
  | { type: "unsubscribe"; symbols: string[] }
  | { type: "ping" };

/** What the server sends. */
export type ServerMessage =
  /** The latest whole quote of each symbol just subscribed that has one. */
  | { type: "snapshot"; quotes: Quote[] }
  /** One flush: per changed symbol, its tick row (to merge onto its last whole quote) or a whole quote. */
  | { type: "batch"; quotes: QuoteUpdate[] }
  /** An alert for this user (or the built-in rule), sent at once, never conflated. */
  | ({ type: "alert" } & Alert)
  | { type: "error"; message: string }
  | { type: "pong" };

/**
 * The whole quotes a `snapshot` or `batch` frame gives, in order, merged onto `known` (the last whole quote of each
 * symbol, updated here). A tick row for a symbol without a whole quote yet is skipped: it is ahead of the symbol's
 * snapshot, which is as new or newer. Other frames give none.
 *
 * @example
 * ```ts
 * const known = new Map<string, Quote>();
 * ws.onmessage = (e) => render(quotesOf(JSON.parse(e.data), known));
 * ```
 */
export function quotesOf(frame: ServerMessage, known: Map<string, Quote>): Quote[] {
  const updates: readonly QuoteUpdate[] = frame.type === "batch" || frame.type === "snapshot" ? frame.quotes : [];
  const out: Quote[] = [];
  for (const u of updates) {
    const q = mergeQuoteUpdate(known.get(updateTick(u).symbol), u);
    if (!q) continue;
    known.set(q.symbol, q);
    out.push(q);
  }
  return out;
}
