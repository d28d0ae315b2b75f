import type { Quote } from "../../schema/quote.ts";
import { backoffDelay } from "../../schema/backoff.ts";
import { type ClientMessage, quotesOf, type ServerMessage } from "../../schema/ws_messages.ts";
import type { Alert } from "../../schema/alert.ts";

/** Connection states shown in the header and on the Monitor. */
export type LiveState = "connecting" | "live" | "reconnecting" | "offline";

/** A quote as the WebSocket sends it (the actors' quote, as JSON). */
export type LiveQuote = Quote;

/** An alert as the WebSocket sends it. */
export type LiveAlert = Alert;

/** Callbacks of {@link connectLive}. */
export interface LiveHandlers {
  /**
   * Quotes in arrival order: the snapshot after (re)subscribing, then the server's batches (the latest quote per
   * changed symbol each flush; every print with `ticks`), at most once per animation frame.
   */
  onQuotes(quotes: LiveQuote[], snapshot: boolean): void;
  onAlert?(a: LiveAlert): void;
  onState(s: LiveState, retryInMs?: number): void;
}

/**
 * Opens /ws/realtime, subscribes `symbols` and keeps the connection: on a drop it reconnects with backoff
 * (0.5 s doubling to 15 s, with jitter) and subscribes again. `ticks` asks for every print instead of the latest per
 * server flush (charts that plot each trade). Quotes are handed over per animation frame so a fast feed costs one
 * render per frame. Returns the controller.
 */
export function connectLive(symbols: string[], h: LiveHandlers, opts: { ticks?: boolean } = {}) {
  const subscribe = (list: string[]) =>
    JSON.stringify(
      { type: "subscribe", symbols: list, ...(opts.ticks ? { ticks: true } : {}) } satisfies ClientMessage,
    );
  let ws: WebSocket | undefined;
  let wanted = [...symbols];
  let attempt = 0;
  let stopped = false;
  let pending: LiveQuote[] = [];
  // The last whole quote of each symbol: batches carry most quotes as tick rows.
  const known = new Map<string, LiveQuote>();
  let frame = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    frame = 0;
    const batch = pending;
    pending = [];
    if (batch.length > 0) h.onQuotes(batch, false);
  };
  const open = () => {
    if (stopped) return;
    h.onState(attempt === 0 ? "connecting" : "reconnecting");
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(`${proto}//${location.host}/ws/realtime`);
    ws = sock;
    sock.onopen = () => {
      attempt = 0;
      h.onState("live");
      if (wanted.length > 0) sock.send(subscribe(wanted));
    };
    sock.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as ServerMessage;
      if (m.type === "batch") {
        // One frame per server flush; renders still wait for the next animation frame.
        pending.push(...quotesOf(m, known));
        if (frame === 0) frame = requestAnimationFrame(flush);
      } else if (m.type === "snapshot") {
        h.onQuotes(quotesOf(m, known), true);
      } else if (m.type === "alert") h.onAlert?.(m);
    };
    sock.onclose = () => {
      if (ws !== sock || stopped) return;
      attempt++;
      const delay = backoffDelay(attempt - 1, 500, 15_000);
      h.onState(navigator.onLine === false ? "offline" : "reconnecting", delay);
      retry = setTimeout(open, delay);
    };
  };
  open();
  return {
    /** Follows a new set of symbols on the open connection (and after reconnects). */
    setSymbols(next: string[]) {
      const drop = wanted.filter((s) => !next.includes(s));
      const add = next.filter((s) => !wanted.includes(s));
      wanted = [...next];
      if (ws?.readyState !== WebSocket.OPEN) return;
      if (drop.length > 0) ws.send(JSON.stringify({ type: "unsubscribe", symbols: drop } satisfies ClientMessage));
      if (add.length > 0) ws.send(subscribe(add));
    },
    close() {
      stopped = true;
      clearTimeout(retry);
      if (frame) cancelAnimationFrame(frame);
      ws?.close();
    },
  };
}
