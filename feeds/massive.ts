import type { FeedStatus } from "../schema/health.ts";
import { backoffDelay, type Feed, type FeedSink } from "./feed.ts";
import { usMarketActive } from "../schema/exchange.ts";
import type { MassiveDecoder } from "./massive_decode.ts";

/** Options of the Massive (formerly Polygon.io) stocks stream client. */
export interface MassiveFeedOptions {
  /** Stocks cluster URL (MASSIVE_WS_URL). */
  url: string;
  apiKey: string;
  decoder: MassiveDecoder;
  sink: FeedSink;
  /** First reconnect delay (default 1 s), doubling up to `backoffMaxMs` (default 60 s), with jitter. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** With no frame for this long while the market is active, the connection is reopened (default 30 s). */
  silenceMs?: number;
  marketActive?: (now: number) => boolean;
  now?: () => number;
  /** Raw frames as received, before decoding (the recorder). */
  onFrame?: (frame: string) => void;
}

type State = "connecting" | "authenticating" | "live" | "reconnecting" | "error" | "stopped";

const channels = (symbols: Iterable<string>) => [...symbols].flatMap((s) => [`T.${s}`, `A.${s}`]).join(",");

/**
 * The Massive stocks stream: one connection (Massive allows one per cluster and account) that authenticates with
 * `{"action":"auth"}`, then subscribes to trades (`T.<sym>`) and per-second aggregates (`A.<sym>`) of every tracked
 * symbol.
 *
 * A rejected key puts the feed in the `error` state with Massive's reason, logged once through the sink, and it does
 * not reconnect: retrying a bad key only gets an account throttled. Other closes reconnect with backoff and jitter.
 */
export class MassiveFeed implements Feed {
  readonly #o: Required<Omit<MassiveFeedOptions, "onFrame">> & Pick<MassiveFeedOptions, "onFrame">;
  readonly #symbols = new Set<string>();
  #state: State = "stopped";
  #error: string | undefined;
  #ws: WebSocket | undefined;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #lastFrameAt = 0;
  #lastTickAt: number | null = null;
  /** Connections opened so far (for tests). */
  connects = 0;

  constructor(options: MassiveFeedOptions) {
    this.#o = {
      backoffMinMs: 1_000,
      backoffMaxMs: 60_000,
      silenceMs: 30_000,
      marketActive: usMarketActive,
      now: Date.now,
      ...options,
    };
  }

  start(): void {
    if (this.#state !== "stopped") return;
    this.#state = "connecting";
    this.#open();
    this.#watchdog = setInterval(() => this.#checkSilence(), Math.max(50, Math.min(this.#o.silenceMs / 4, 5_000)));
  }

  #open(): void {
    this.connects++;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#o.url);
    } catch (err) {
      this.#o.sink.reject("connect_failed", String(err));
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      this.#lastFrameAt = this.#o.now();
      this.#state = "authenticating";
      ws.send(JSON.stringify({ action: "auth", params: this.#o.apiKey }));
    };
    ws.onmessage = (ev) => {
      if (this.#ws !== ws) return;
      this.#lastFrameAt = this.#o.now();
      const frame = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
      this.#o.onFrame?.(frame);
      for (const r of this.#o.decoder.decode(frame)) {
        if (r.kind === "tick") {
          this.#lastTickAt = this.#lastFrameAt;
          this.#o.sink.tick(r.tick);
        } else if (r.kind === "reject") this.#o.sink.reject(r.reason, r.detail);
        else if (r.kind === "status") this.#onStatus(ws, r.status, r.message);
      }
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      if (this.#state === "error" || this.#state === "stopped") return;
      this.#o.sink.reject("disconnected", `code ${ev.code} ${ev.reason}`.trim());
      this.#scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and decides what to do.
    };
  }

  #onStatus(ws: WebSocket, status: string, message: string): void {
    if (status === "auth_success") {
      this.#state = "live";
      this.#attempt = 0;
      if (this.#symbols.size > 0) ws.send(JSON.stringify({ action: "subscribe", params: channels(this.#symbols) }));
    } else if (status === "auth_failed") {
      this.#state = "error";
      this.#error = `Massive rejected the API key (${message || status}); set MASSIVE_API_KEY and restart`;
      this.#o.sink.reject("auth_failed", this.#error);
      this.#ws = undefined;
      ws.close(1000, "authentication failed");
    } else if (status === "max_connections") {
      // Another client holds the account's one connection; back off to the longest delay before trying again.
      this.#o.sink.reject("max_connections", message);
      this.#attempt = 30;
    }
  }

  #checkSilence(): void {
    const ws = this.#ws;
    if (!ws || this.#state !== "live" || this.#symbols.size === 0) return;
    const now = this.#o.now();
    if (now - this.#lastFrameAt > this.#o.silenceMs && this.#o.marketActive(now)) {
      this.#o.sink.reject("silent_stream", `no frame for ${now - this.#lastFrameAt} ms; reconnecting`);
      this.#ws = undefined;
      ws.close();
      this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    if (this.#state === "stopped" || this.#state === "error") return;
    this.#state = "reconnecting";
    clearTimeout(this.#retry);
    this.#retry = setTimeout(
      () => this.#open(),
      backoffDelay(this.#attempt++, this.#o.backoffMinMs, this.#o.backoffMaxMs),
    );
  }

  setSymbols(symbols: readonly string[]): void {
    const want = new Set(symbols);
    const gone = [...this.#symbols].filter((s) => !want.has(s));
    const added = [...want].filter((s) => !this.#symbols.has(s));
    for (const s of gone) this.#symbols.delete(s);
    for (const s of added) this.#symbols.add(s);
    const ws = this.#ws;
    if (!ws || this.#state !== "live" || ws.readyState !== WebSocket.OPEN) return;
    if (gone.length > 0) ws.send(JSON.stringify({ action: "unsubscribe", params: channels(gone) }));
    if (added.length > 0) ws.send(JSON.stringify({ action: "subscribe", params: channels(added) }));
  }

  stop(): Promise<void> {
    this.#state = "stopped";
    clearTimeout(this.#retry);
    clearInterval(this.#watchdog);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) ws.close(1000, "stopping");
    return Promise.resolve();
  }

  status(): FeedStatus {
    const state = this.#state === "authenticating" ? "connecting" : this.#state;
    return {
      state,
      lastTickAt: this.#lastTickAt,
      ...(this.#state === "error" && this.#error ? { error: this.#error } : {}),
    };
  }
}
