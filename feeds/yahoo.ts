import type { FeedStatus } from "../schema/health.ts";
import { backoffDelay, type Feed, type FeedSink } from "./feed.ts";
import { usMarketActive } from "../schema/exchange.ts";
import type { YahooDecoder } from "./yahoo_decode.ts";

/** Options of the Yahoo streamer client. */
export interface YahooFeedOptions {
  /** Streamer URL (YAHOO_WS_URL). */
  url: string;
  decoder: YahooDecoder;
  sink: FeedSink;
  /** Symbols per connection; Yahoo serves about 100 (default 100). */
  maxSymbolsPerConnection?: number;
  /** First reconnect delay (default 500 ms), doubling up to `backoffMaxMs` (default 30 s), with jitter. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** The subscription is sent again this often on an open connection (default 60 s). */
  resubscribeMs?: number;
  /** With no frame for this long while the market is active, the connection is dropped and reopened (default 30 s). */
  silenceMs?: number;
  /** Whether silence counts as a fault now (default: US 04:00-20:00 ET on weekdays). */
  marketActive?: (now: number) => boolean;
  now?: () => number;
  /** Raw frames as received, before decoding (the recorder). */
  onFrame?: (frame: string) => void;
}

const utf8 = new TextDecoder();

type ConnState = "connecting" | "live" | "reconnecting" | "stopped";

/** One WebSocket to the streamer and the symbols it carries. */
class YahooConnection {
  readonly symbols = new Set<string>();
  state: ConnState = "connecting";
  lastFrameAt = 0;
  lastTickAt = 0;
  connects = 0;
  /** Whether this connection ever reached the streamer (a socket opened). */
  everOpened = false;
  /** Why the last attempt failed, and since when attempts have been failing (0: not failing). */
  lastError = "";
  failingSince = 0;
  #ws: WebSocket | undefined;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #resubscribe: ReturnType<typeof setInterval> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly o: Required<Omit<YahooFeedOptions, "onFrame">> & Pick<YahooFeedOptions, "onFrame">) {}

  open(): void {
    if (this.state === "stopped") return;
    this.connects++;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.o.url);
    } catch (err) {
      this.o.sink.reject("connect_failed", String(err));
      this.#failed(String(err));
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      this.everOpened = true;
      this.lastFrameAt = this.o.now();
      this.#send({ subscribe: [...this.symbols] });
    };
    ws.onmessage = (ev) => {
      this.lastFrameAt = this.o.now();
      if (this.state !== "live") {
        this.state = "live";
        this.#attempt = 0;
        this.failingSince = 0;
        this.lastError = "";
      }
      const frame = typeof ev.data === "string" ? ev.data : utf8.decode(ev.data as ArrayBuffer);
      this.o.onFrame?.(frame);
      const r = this.o.decoder.decode(frame);
      if (r.kind === "tick") {
        this.lastTickAt = this.lastFrameAt;
        this.o.sink.tick(r.tick);
      } else if (r.kind === "reject") this.o.sink.reject(r.reason, r.detail);
    };
    let error = "";
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      this.#failed(error || `connection closed (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`);
      this.#scheduleReconnect();
    };
    ws.onerror = (ev) => {
      // onclose follows and schedules the reconnect; keep the reason it will report.
      error = (ev as ErrorEvent).message || "connection failed";
    };
    this.#resubscribe ??= setInterval(() => this.#send({ subscribe: [...this.symbols] }), this.o.resubscribeMs);
    this.#watchdog ??= setInterval(() => this.#checkSilence(), Math.max(50, Math.min(this.o.silenceMs / 4, 5_000)));
  }

  #checkSilence(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.symbols.size === 0) return;
    const now = this.o.now();
    if (now - this.lastFrameAt > this.o.silenceMs && this.o.marketActive(now)) {
      this.o.sink.reject("silent_stream", `no frame for ${now - this.lastFrameAt} ms; reconnecting`);
      this.#ws = undefined;
      ws.close();
      this.#scheduleReconnect();
    }
  }

  #failed(error: string): void {
    this.lastError = error;
    if (this.failingSince === 0) this.failingSince = this.o.now();
  }

  #scheduleReconnect(): void {
    if (this.state === "stopped") return;
    this.state = "reconnecting";
    clearTimeout(this.#retry);
    const delay = backoffDelay(this.#attempt++, this.o.backoffMinMs, this.o.backoffMaxMs);
    this.#retry = setTimeout(() => this.open(), delay);
  }

  #send(msg: unknown): void {
    const ws = this.#ws;
    if (ws && ws.readyState === WebSocket.OPEN && (!("subscribe" in (msg as object)) || this.symbols.size > 0)) {
      ws.send(JSON.stringify(msg));
    }
  }

  add(symbols: string[]): void {
    for (const s of symbols) this.symbols.add(s);
    this.#send({ subscribe: symbols });
  }

  remove(symbols: string[]): void {
    for (const s of symbols) this.symbols.delete(s);
    this.#send({ unsubscribe: symbols });
  }

  close(): void {
    this.state = "stopped";
    clearTimeout(this.#retry);
    clearInterval(this.#resubscribe);
    clearInterval(this.#watchdog);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) ws.close(1000, "stopping");
  }
}

/**
 * The Yahoo streamer feed: a pool of WebSocket connections, each carrying at most `maxSymbolsPerConnection`
 * symbols. Symbols added or removed at run time are (un)subscribed on the connection that carries them; only a
 * connection left empty is closed, and a new one opens only when every open one is full.
 */
export class YahooFeed implements Feed {
  readonly #o: Required<Omit<YahooFeedOptions, "onFrame">> & Pick<YahooFeedOptions, "onFrame">;
  readonly #connections: YahooConnection[] = [];
  readonly #owner = new Map<string, YahooConnection>();
  #started = false;

  constructor(options: YahooFeedOptions) {
    this.#o = {
      maxSymbolsPerConnection: 100,
      backoffMinMs: 500,
      backoffMaxMs: 30_000,
      resubscribeMs: 60_000,
      silenceMs: 30_000,
      marketActive: usMarketActive,
      now: Date.now,
      ...options,
    };
  }

  start(): void {
    this.#started = true;
    for (const c of this.#connections) c.open();
  }

  stop(): Promise<void> {
    this.#started = false;
    for (const c of this.#connections) c.close();
    this.#connections.length = 0;
    this.#owner.clear();
    return Promise.resolve();
  }

  setSymbols(symbols: readonly string[]): void {
    const want = new Set(symbols);
    const byConn = new Map<YahooConnection, string[]>();
    for (const [s, c] of this.#owner) {
      if (!want.has(s)) {
        this.#owner.delete(s);
        byConn.set(c, [...(byConn.get(c) ?? []), s]);
      }
    }
    for (const [c, gone] of byConn) {
      c.remove(gone);
      if (c.symbols.size === 0) {
        c.close();
        this.#connections.splice(this.#connections.indexOf(c), 1);
      }
    }
    const added = new Map<YahooConnection, string[]>();
    for (const s of want) {
      if (this.#owner.has(s)) continue;
      let c = this.#connections.find((x) =>
        x.symbols.size + (added.get(x)?.length ?? 0) < this.#o.maxSymbolsPerConnection
      );
      if (!c) {
        c = new YahooConnection(this.#o);
        this.#connections.push(c);
      }
      added.set(c, [...(added.get(c) ?? []), s]);
      this.#owner.set(s, c);
    }
    for (const [c, list] of added) {
      const fresh = c.connects === 0;
      c.add(list);
      if (fresh && this.#started) c.open();
    }
  }

  /** Symbols per open connection (for tests and /metrics). */
  connections(): string[][] {
    return this.#connections.map((c) => [...c.symbols]);
  }

  /**
   * The feed's state: "unreachable" when no connection has ever reached the streamer and attempts keep failing,
   * "reconnecting" after a loss, with the last error and since when it has been failing.
   */
  status(): FeedStatus {
    const lastTickAt = this.#connections.reduce((m, c) => Math.max(m, c.lastTickAt), 0);
    const states = new Set(this.#connections.map((c) => c.state));
    const failing = this.#connections.filter((c) => c.failingSince > 0);
    const neverReached = this.#connections.length > 0 && this.#connections.every((c) => !c.everOpened);
    const state = !this.#started
      ? "stopped"
      : states.has("reconnecting")
      ? neverReached ? "unreachable" : "reconnecting"
      : states.has("connecting")
      ? "connecting"
      : "live";
    const worst = failing.sort((a, b) => a.failingSince - b.failingSince)[0];
    return {
      state,
      lastTickAt: lastTickAt === 0 ? null : lastTickAt,
      ...(worst && state !== "live" ? { error: worst.lastError, since: worst.failingSince } : {}),
    };
  }
}
