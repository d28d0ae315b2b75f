import { z } from "zod";
import type { FeedStatus } from "../schema/health.ts";
import { exchangeDay, usMarketActive } from "../schema/exchange.ts";
import type { Feed, FeedSink } from "./feed.ts";
import { createMassiveDecoder, type MassiveDecoder } from "./massive_decode.ts";
import { ReconnectingSocket, socketTiming } from "./socket.ts";
import type { LiveFeedModule } from "./open.ts";

/** Options of the Massive (formerly Polygon.io) stocks stream client. */
export interface MassiveFeedOptions {
  /** Stocks cluster URL (MASSIVE_WS_URL). */
  url: string;
  apiKey: string;
  decoder: MassiveDecoder;
  sink: FeedSink;
  /**
   * The previous session's close of a symbol for an exchange day (stored daily candles, else Massive's
   * previous-close endpoint); asked once per symbol and day. Without it the day's change stays unknown.
   */
  previousClose?: (symbol: string, day: number) => Promise<number | undefined>;
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

/** Trades, quotes (bid/ask) and per-second aggregates of each symbol. */
const channels = (symbols: Iterable<string>) => [...symbols].flatMap((s) => [`T.${s}`, `Q.${s}`, `A.${s}`]).join(",");

/**
 * The Massive stocks stream: one connection (Massive allows one per cluster and account) that authenticates with
 * `{"action":"auth"}`, then subscribes to trades (`T.<sym>`), quotes (`Q.<sym>`) and per-second aggregates
 * (`A.<sym>`) of every tracked symbol.
 *
 * A rejected key puts the feed in the `error` state with Massive's reason, logged once through the sink, and it does
 * not reconnect: retrying a bad key only gets an account throttled. Other closes reconnect with backoff and jitter.
 *
 * @example
 * ```ts
 * const feed = new MassiveFeed({ url: config.massive.wsUrl, apiKey, decoder: createMassiveDecoder(), sink });
 * feed.setSymbols(["AAPL"]);
 * feed.start();
 * ```
 */
export class MassiveFeed implements Feed {
  readonly #o: Required<Omit<MassiveFeedOptions, "onFrame" | "previousClose">> & MassiveFeedOptions;
  readonly #symbols = new Set<string>();
  readonly #socket: ReconnectingSocket;
  #started = false;
  #error: string | undefined;
  #lastTickAt: number | null = null;
  /** The exchange day each symbol's previous close was last asked for, and when that ask failed (0: it did not). */
  readonly #askedClose = new Map<string, { day: number; failedAt: number }>();

  constructor(options: MassiveFeedOptions) {
    const o = this.#o = {
      backoffMinMs: 1_000,
      backoffMaxMs: 60_000,
      silenceMs: 30_000,
      marketActive: usMarketActive,
      now: Date.now,
      ...options,
    };
    this.#socket = new ReconnectingSocket({
      ...socketTiming(o),
      reject: (reason, detail) => o.sink.reject(reason, detail),
      reportCloses: true,
      watching: () => this.#socket.state === "live" && this.#symbols.size > 0,
      onOpen: (socket) => socket.send(JSON.stringify({ action: "auth", params: o.apiKey })),
      onFrame: (frame, socket) => this.#onFrame(frame, socket),
    });
  }

  /** Connections opened so far (for tests). */
  get connects(): number {
    return this.#socket.connects;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#socket.open();
  }

  #onFrame(frame: string, socket: ReconnectingSocket): void {
    this.#o.onFrame?.(frame);
    for (const r of this.#o.decoder.decode(frame)) {
      if (r.kind === "tick") {
        this.#lastTickAt = socket.lastFrameAt;
        this.#askPreviousClose(r.tick.symbol, r.tick.time);
        this.#o.sink.tick(r.tick);
      } else if (r.kind === "reject") this.#o.sink.reject(r.reason, r.detail);
      else if (r.kind === "status") this.#onStatus(socket, r.status, r.message);
    }
  }

  #onStatus(socket: ReconnectingSocket, status: string, message: string): void {
    if (status === "auth_success") {
      socket.markLive();
      if (this.#symbols.size > 0) socket.send(JSON.stringify({ action: "subscribe", params: channels(this.#symbols) }));
    } else if (status === "auth_failed") {
      this.#error = `Massive rejected the API key (${message || status}); set MASSIVE_API_KEY and restart`;
      this.#o.sink.reject("auth_failed", this.#error);
      socket.fail(this.#error);
    } else if (status === "max_connections") {
      // Another client holds the account's one connection; back off to the longest delay before trying again.
      this.#o.sink.reject("max_connections", message);
      socket.backoffToMax();
    }
  }

  /** Looks the symbol's previous close up once per exchange day; ticks after the answer carry it. */
  #askPreviousClose(symbol: string, time: number): void {
    const lookup = this.#o.previousClose;
    if (!lookup) return;
    const day = exchangeDay(time);
    const asked = this.#askedClose.get(symbol);
    // A failed ask is repeated on a tick 30 s later, not on every tick.
    if (asked?.day === day && (asked.failedAt === 0 || this.#o.now() - asked.failedAt < 30_000)) return;
    const ask = { day, failedAt: 0 };
    this.#askedClose.set(symbol, ask);
    lookup(symbol, day).then(
      (close) => {
        if (close !== undefined) this.#o.decoder.setPreviousClose(symbol, day, close);
      },
      (err) => {
        ask.failedAt = this.#o.now();
        this.#o.sink.reject("previous_close", `${symbol}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  setSymbols(symbols: readonly string[]): void {
    const want = new Set(symbols);
    const gone = [...this.#symbols].filter((s) => !want.has(s));
    const added = [...want].filter((s) => !this.#symbols.has(s));
    for (const s of gone) this.#symbols.delete(s);
    for (const s of added) this.#symbols.add(s);
    // Before the first tick of the day, so the first one already carries the change.
    for (const s of added) this.#askPreviousClose(s, this.#o.now());
    if (this.#socket.state !== "live") return;
    if (gone.length > 0) this.#socket.send(JSON.stringify({ action: "unsubscribe", params: channels(gone) }));
    if (added.length > 0) this.#socket.send(JSON.stringify({ action: "subscribe", params: channels(added) }));
  }

  stop(): Promise<void> {
    this.#started = false;
    this.#socket.close();
    return Promise.resolve();
  }

  status(): FeedStatus {
    const s = this.#socket.state;
    const state = s === "failed" ? "error" : s === "idle" ? (this.#started ? "connecting" : "stopped") : s;
    return {
      state,
      lastTickAt: this.#lastTickAt,
      ...(s === "failed" && this.#error ? { error: this.#error } : {}),
    };
  }
}

const prevSchema = z.object({ results: z.array(z.object({ c: z.number().positive(), t: z.number() })).default([]) });

/**
 * A previous-close lookup: `stored` first (the daily candles), else Massive's previous-close endpoint
 * (`/v2/aggs/ticker/{ticker}/prev`), whose bar counts only when it is from a session before `day`.
 *
 * @returns the lookup; it rejects when Massive answers with an error
 * @example
 * ```ts
 * const lookup = massivePreviousClose(config.massive.apiBase, apiKey, (s, day) => previousDailyClose(store, s, day));
 * const close = await lookup("AAPL", exchangeDay(Date.now()));
 * ```
 */
export function massivePreviousClose(
  apiBase: string,
  apiKey: string,
  stored: (symbol: string, day: number) => Promise<number | undefined>,
  fetchFn: typeof fetch = fetch,
): (symbol: string, day: number) => Promise<number | undefined> {
  return async (symbol, day) => {
    const close = await stored(symbol, day);
    if (close !== undefined) return close;
    const url = `${apiBase}/v2/aggs/ticker/${encodeURIComponent(symbol)}/prev?adjusted=true&apiKey=${
      encodeURIComponent(apiKey)
    }`;
    const res = await fetchFn(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Massive previous close: HTTP ${res.status}`);
    }
    const bar = prevSchema.parse(await res.json()).results[0];
    return bar && exchangeDay(bar.t) < day ? bar.c : undefined;
  };
}

/** FEED=massive: trades, quotes and aggregates from Massive's stocks cluster; recorded frames replay through it. */
export const massiveFeed: LiveFeedModule = {
  open: (config, d) => {
    const apiKey = config.massive.apiKey!;
    return new MassiveFeed({
      url: config.massive.wsUrl,
      apiKey,
      decoder: createMassiveDecoder(),
      sink: d.sink,
      previousClose: massivePreviousClose(
        config.massive.apiBase,
        apiKey,
        d.previousClose ?? (() => Promise.resolve(undefined)),
      ),
      ...(d.onFrame ? { onFrame: d.onFrame } : {}),
    });
  },
  replayDecoder: () => {
    const decoder = createMassiveDecoder({ source: "replay", maxFutureMs: Number.MAX_SAFE_INTEGER });
    return (frame) => decoder.decode(frame);
  },
};
