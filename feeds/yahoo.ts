import type { FeedStatus } from "../schema/health.ts";
import type { Feed, FeedSink } from "./feed.ts";
import { ReconnectingSocket, socketTiming } from "./socket.ts";
import { usMarketActive } from "../schema/exchange.ts";
import { createYahooDecoder, type YahooDecoder } from "./yahoo_decode.ts";
import type { LiveFeedModule } from "./open.ts";

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

/** One WebSocket to the streamer and the symbols it carries. */
class YahooConnection {
  readonly symbols = new Set<string>();
  lastTickAt = 0;
  readonly socket: ReconnectingSocket;

  constructor(private readonly o: Required<Omit<YahooFeedOptions, "onFrame">> & Pick<YahooFeedOptions, "onFrame">) {
    this.socket = new ReconnectingSocket({
      ...socketTiming(o),
      reject: (reason, detail) => o.sink.reject(reason, detail),
      watching: () => this.symbols.size > 0,
      onOpen: () => this.#subscribe([...this.symbols]),
      every: { ms: o.resubscribeMs, run: () => this.#subscribe([...this.symbols]) },
      onFrame: (frame, socket) => {
        // The streamer sends nothing but prices: any frame means the subscription works.
        socket.markLive();
        this.o.onFrame?.(frame);
        const r = this.o.decoder.decode(frame);
        if (r.kind === "tick") {
          this.lastTickAt = socket.lastFrameAt;
          this.o.sink.tick(r.tick);
        } else if (r.kind === "reject") this.o.sink.reject(r.reason, r.detail);
      },
    });
  }

  #subscribe(symbols: string[]): void {
    if (symbols.length > 0) this.socket.send(JSON.stringify({ subscribe: symbols }));
  }

  add(symbols: string[]): void {
    for (const s of symbols) this.symbols.add(s);
    this.#subscribe(symbols);
  }

  remove(symbols: string[]): void {
    for (const s of symbols) this.symbols.delete(s);
    this.socket.send(JSON.stringify({ unsubscribe: symbols }));
  }
}

/**
 * The Yahoo streamer feed: a pool of WebSocket connections, each carrying at most `maxSymbolsPerConnection`
 * symbols. Symbols added or removed at run time are (un)subscribed on the connection that carries them; only a
 * connection left empty is closed, and a new one opens only when every open one is full.
 *
 * @example
 * ```ts
 * const feed = new YahooFeed({ url: config.yahoo.wsUrl, decoder: await createYahooDecoder(), sink });
 * feed.setSymbols(["AAPL"]);
 * feed.start();
 * feed.status().state; // "connecting", then "live"
 * await feed.stop();
 * ```
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
    for (const c of this.#connections) c.socket.open();
  }

  stop(): Promise<void> {
    this.#started = false;
    for (const c of this.#connections) c.socket.close();
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
        c.socket.close();
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
      const fresh = c.socket.connects === 0;
      c.add(list);
      if (fresh && this.#started) c.socket.open();
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
    const states = new Set(this.#connections.map((c) => c.socket.state));
    const failing = this.#connections.map((c) => c.socket).filter((c) => c.failingSince > 0);
    const neverReached = this.#connections.length > 0 && this.#connections.every((c) => !c.socket.everOpened);
    const state = !this.#started
      ? "stopped"
      : states.has("reconnecting")
      ? neverReached ? "unreachable" : "reconnecting"
      : states.has("connecting") || states.has("idle")
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

/** FEED=yahoo: Yahoo's streamer; recorded frames replay through its decoder. */
export const yahooFeed: LiveFeedModule = {
  open: async (config, d) =>
    new YahooFeed({
      url: config.yahoo.wsUrl,
      decoder: await createYahooDecoder(),
      sink: d.sink,
      ...(d.onFrame ? { onFrame: d.onFrame } : {}),
    }),
  replayDecoder: async () => {
    const decoder = await createYahooDecoder({ source: "replay", maxFutureMs: Number.MAX_SAFE_INTEGER });
    return (frame) => [decoder.decode(frame)];
  },
};
