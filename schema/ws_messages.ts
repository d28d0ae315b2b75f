import type { Alert } from "./alert.ts";
import type { Quote, QuoteUpdate } from "./quote.ts";

/**
 * The frames of /ws/realtime (docs/websocket.md), as the server and the islands both type them. Types only, with no
 * validation library, so the browser bundle stays small; the server validates what clients send with the zod schema
 * in routes/ws.ts, which is checked against {@link ClientMessage}.
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
  /** One flush: per changed symbol, its tick fields merged onto the last whole quote, or a whole quote. */
  | { type: "batch"; quotes: QuoteUpdate[] }
  /** An alert for this user (or the built-in rule), sent at once, never conflated. */
  | ({ type: "alert" } & Alert)
  | { type: "error"; message: string }
  | { type: "pong" };
