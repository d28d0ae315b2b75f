/**
 * The reconnecting WebSocket every live feed runs on: connect, reconnect with exponential backoff and jitter, a
 * silence watchdog while the market is active, a periodic resubscribe, and close. The feed decides what to send on
 * open, what a frame means, and when the stream counts as live.
 */
import { backoffDelay } from "./feed.ts";

/** Where the socket is. `live` once the feed says frames flow; `failed` after a refusal that retrying cannot fix. */
export type SocketState = "idle" | "connecting" | "live" | "reconnecting" | "stopped" | "failed";

/** Options of {@link ReconnectingSocket}. */
export interface ReconnectingSocketOptions {
  url: string;
  /** First reconnect delay, doubling up to `backoffMaxMs`, with jitter. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** With no frame for this long while `watching()` and the market is active, the connection is reopened. */
  silenceMs: number;
  marketActive: (now: number) => boolean;
  now: () => number;
  /** Each time a connection opens: send the login or the subscription. */
  onOpen: (socket: ReconnectingSocket) => void;
  /** Each frame, as text. */
  onFrame: (frame: string, socket: ReconnectingSocket) => void;
  /** A connection that could not open, went silent or (with `reportCloses`) closed: counted by reason. */
  reject: (reason: string, detail: string) => void;
  /** Also report every unexpected close as `disconnected` (default false: only remembered as the last error). */
  reportCloses?: boolean;
  /** Whether silence is a fault right now (e.g. the feed has symbols and is logged in). */
  watching: () => boolean;
  /** Called this often while open (a periodic resubscribe); none by default. */
  every?: { ms: number; run: (socket: ReconnectingSocket) => void };
}

/** Where and how a feed's socket connects: the options every feed takes from its own configuration. */
export type SocketTiming = Pick<
  ReconnectingSocketOptions,
  "url" | "backoffMinMs" | "backoffMaxMs" | "silenceMs" | "marketActive" | "now"
>;

/** The {@link SocketTiming} part of a feed's options. */
export function socketTiming(o: SocketTiming): SocketTiming {
  return {
    url: o.url,
    backoffMinMs: o.backoffMinMs,
    backoffMaxMs: o.backoffMaxMs,
    silenceMs: o.silenceMs,
    marketActive: o.marketActive,
    now: o.now,
  };
}

const utf8 = new TextDecoder();

/**
 * One upstream WebSocket that keeps itself open until {@link ReconnectingSocket.close}.
 *
 * @example
 * ```ts
 * const socket = new ReconnectingSocket({
 *   url: "wss://streamer.example/", backoffMinMs: 500, backoffMaxMs: 30_000, silenceMs: 30_000,
 *   marketActive: usMarketActive, now: Date.now, watching: () => true, reject: sink.reject,
 *   onOpen: (s) => s.send(JSON.stringify({ subscribe: ["AAPL"] })),
 *   onFrame: (frame, s) => { s.markLive(); decode(frame); },
 * });
 * socket.open();
 * ```
 */
export class ReconnectingSocket {
  state: SocketState = "idle";
  /** When the last frame arrived (epoch ms; 0 before any). */
  lastFrameAt = 0;
  /** Connections attempted so far. */
  connects = 0;
  /** Whether a connection ever opened. */
  everOpened = false;
  /** Why the last attempt failed, and since when attempts have been failing (0: not failing). */
  lastError = "";
  failingSince = 0;
  readonly #o: ReconnectingSocketOptions;
  #ws: WebSocket | undefined;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #every: ReturnType<typeof setInterval> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(options: ReconnectingSocketOptions) {
    this.#o = options;
  }

  /** Connects (again); the watchdog and periodic task start with the first call. */
  open(): void {
    if (this.state === "stopped" || this.state === "failed") return;
    if (this.state === "idle") this.state = "connecting";
    this.connects++;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#o.url);
    } catch (err) {
      this.#o.reject("connect_failed", String(err));
      this.#down(String(err));
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      this.everOpened = true;
      this.lastFrameAt = this.#o.now();
      this.#o.onOpen(this);
    };
    ws.onmessage = (ev) => {
      if (this.#ws !== ws) return;
      this.lastFrameAt = this.#o.now();
      this.#o.onFrame(typeof ev.data === "string" ? ev.data : utf8.decode(ev.data as ArrayBuffer), this);
    };
    let error = "";
    ws.onerror = (ev) => {
      // onclose follows and reconnects; keep the reason it will report.
      error = (ev as ErrorEvent).message || "connection failed";
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      if (this.state === "stopped" || this.state === "failed") return;
      const reason = error || `connection closed (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`;
      if (this.#o.reportCloses) this.#o.reject("disconnected", `code ${ev.code} ${ev.reason}`.trim());
      this.#down(reason);
    };
    if (this.#o.every) this.#every ??= setInterval(() => this.#o.every!.run(this), this.#o.every.ms);
    this.#watchdog ??= setInterval(() => this.#checkSilence(), Math.max(50, Math.min(this.#o.silenceMs / 4, 5_000)));
  }

  /** Frames flow: backoff and the failure record start over. */
  markLive(): void {
    if (this.state === "live") return;
    this.state = "live";
    this.#attempt = 0;
    this.failingSince = 0;
    this.lastError = "";
  }

  /** Sends `text` when a connection is open; returns whether it was sent. */
  send(text: string): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    return true;
  }

  /** The next reconnect waits the longest delay (the upstream asked to be left alone). */
  backoffToMax(): void {
    this.#attempt = 30;
  }

  /** Stops for good after a refusal retrying cannot fix (a rejected key): no reconnect. */
  fail(reason: string): void {
    this.lastError = reason;
    this.#stop("failed", "refused");
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.#stop("stopped", "stopping");
  }

  #stop(state: "stopped" | "failed", why: string): void {
    this.state = state;
    clearTimeout(this.#retry);
    clearInterval(this.#every);
    clearInterval(this.#watchdog);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) ws.close(1000, why);
  }

  #checkSilence(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.#o.watching()) return;
    const now = this.#o.now();
    if (now - this.lastFrameAt > this.#o.silenceMs && this.#o.marketActive(now)) {
      this.#o.reject("silent_stream", `no frame for ${now - this.lastFrameAt} ms; reconnecting`);
      this.#ws = undefined;
      ws.close();
      this.#down(`no frame for ${now - this.lastFrameAt} ms`);
    }
  }

  #down(reason: string): void {
    this.lastError = reason;
    if (this.failingSince === 0) this.failingSince = this.#o.now();
    if (this.state === "stopped" || this.state === "failed") return;
    this.state = "reconnecting";
    clearTimeout(this.#retry);
    this.#retry = setTimeout(
      () => this.open(),
      backoffDelay(this.#attempt++, this.#o.backoffMinMs, this.#o.backoffMaxMs),
    );
  }
}
