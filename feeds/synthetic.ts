import { exchangeDay } from "../schema/exchange.ts";
import type { FeedStatus } from "../schema/health.ts";
import type { Tick } from "../schema/tick.ts";
import { demoLogReturn, type DemoProfile, demoProfile, demoSession } from "./demo_market.ts";
import type { Feed, FeedSink } from "./feed.ts";

/** Where a symbol's walk resumes: its last stored quote (a restart continues the path, with no jump). */
export interface DemoStart {
  price: number;
  previousClose: number;
  /** Epoch ms of that quote; the day's high, low and volume carry on when it is from the same New York day. */
  time?: number;
  dayHigh?: number;
  dayLow?: number;
  dayVolume?: number;
}

/** Options of {@link SyntheticFeed}. */
export interface SyntheticOptions {
  sink: FeedSink;
  /** Ticks per second across all symbols (default 50). It sets how often the path is sampled, not how it moves. */
  ticksPerSecond?: number;
  /** Seed of the random walk, for repeatable runs (default: time based). */
  seed?: number;
  now?: () => number;
  /** Tick outside the NYSE regular session too (weekends, holidays, nights), labelled with the real session. */
  alwaysOpen?: boolean;
  /** A symbol's stored state to resume from; undefined starts it at its profile's price. */
  start?: (symbol: string) => DemoStart | undefined;
  /** Price dynamics per symbol (default {@link demoProfile}). */
  profile?: (symbol: string) => DemoProfile;
}

interface Walk {
  profile: DemoProfile;
  /** Exact level of the walk; ticks carry it rounded to cents. */
  level: number;
  price: number;
  previousClose: number;
  dayHigh: number;
  dayLow: number;
  dayVolume: number;
  /** New York day of the session the day fields belong to (UTC midnight). */
  day: number;
  /** Time of the walk's last step (fractional ms). */
  at: number;
}

const TICK_MS = 50;
/** The most time one pump covers: a late pump skips the rest rather than emitting a burst (see `pump`). */
export const MAX_CATCH_UP_MS = 250;

/**
 * The demo market: every tick says `source: "synthetic"`.
 *
 * Each symbol follows geometric Brownian motion with jumps ({@link demoLogReturn}), its volatility fixed per symbol
 * (15-60 % a year), stepped by the time elapsed between its ticks, so the path's statistics are the same at 50 or
 * 2,500 ticks/s. A restart resumes from the stored quote ({@link SyntheticOptions.start}). The NYSE calendar decides
 * the session: outside regular hours the feed is "closed" and sends nothing, unless `alwaysOpen`. Ticks go out in
 * bursts every 50 ms, their times spread over the burst.
 *
 * @example
 * ```ts
 * const feed = new SyntheticFeed({ sink, ticksPerSecond: 20 });
 * feed.setSymbols(["AAPL", "MSFT"]);
 * feed.start();
 * await feed.stop();
 * ```
 */
export class SyntheticFeed implements Feed {
  readonly #o: Required<Omit<SyntheticOptions, "start">> & Pick<SyntheticOptions, "start">;
  #walks = new Map<string, Walk>();
  #symbols: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastTickAt: number | null = null;
  #closed = false;
  #state = 0;
  #carry = 0;
  #cursor = 0;
  #last = 0;

  constructor(options: SyntheticOptions) {
    this.#o = {
      ticksPerSecond: 50,
      seed: Date.now() % 2 ** 31,
      now: Date.now,
      alwaysOpen: false,
      profile: demoProfile,
      ...options,
    };
    this.#state = this.#o.seed;
  }

  #random(): number {
    // xorshift32: fast, repeatable for a seed.
    let x = this.#state || 1;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 2 ** 32;
  }

  #normal(): number {
    const u = Math.max(this.#random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#random());
  }

  setSymbols(symbols: readonly string[]): void {
    this.#symbols = [...symbols];
    const now = this.#o.now();
    for (const s of symbols) {
      if (this.#walks.has(s)) continue;
      const profile = this.#o.profile(s);
      const from = this.#o.start?.(s);
      const price = from?.price ?? profile.startPrice;
      const sameDay = from?.time !== undefined && exchangeDay(from.time) === exchangeDay(now);
      this.#walks.set(s, {
        profile,
        level: price,
        price,
        previousClose: from?.previousClose || price,
        dayHigh: sameDay && from?.dayHigh ? from.dayHigh : price,
        dayLow: sameDay && from?.dayLow ? from.dayLow : price,
        dayVolume: sameDay ? from?.dayVolume ?? 0 : 0,
        day: from?.time !== undefined ? exchangeDay(from.time) : exchangeDay(now),
        at: now,
      });
    }
  }

  start(): void {
    if (this.#timer) return;
    this.#last = this.#o.now();
    this.#timer = setInterval(() => this.pump(this.#o.now()), TICK_MS);
  }

  /**
   * Emits the ticks due between the last pump and `now` (the timer calls it every 50 ms; tests drive it with a
   * virtual clock).
   */
  pump(now: number): void {
    // The first pump only starts the clock. A pump late by more than MAX_CATCH_UP_MS (the process is saturated)
    // covers only that much: catching up in full would make the next pump later still, and starve every other
    // task of the event loop (HTTP included) once the offered rate is past what the process can take.
    const since = this.#last ? Math.min(MAX_CATCH_UP_MS, Math.max(0, now - this.#last)) : 0;
    this.#last = now;
    if (this.#symbols.length === 0 || since === 0) return;
    const session = demoSession(now);
    this.#closed = session !== "regular" && !this.#o.alwaysOpen;
    if (this.#closed) return;
    this.#carry += this.#o.ticksPerSecond * since / 1000;
    const n = Math.floor(this.#carry);
    this.#carry -= n;
    const time = Math.floor(now);
    for (let i = 0; i < n; i++) {
      const symbol = this.#symbols[this.#cursor++ % this.#symbols.length]!;
      // The walk steps to a point spread over the interval, so each step covers the time since that symbol's previous
      // one; the tick is stamped with the time it goes out. (Stamped with the spread time, a tick would reach the
      // hub up to a whole pump interval older than its time says, and every client would see it that much staler.)
      this.#o.sink.tick(this.#step(symbol, now - since + (i + 1) * since / n, time, session));
    }
  }

  #step(symbol: string, at: number, time: number, session: Tick["marketHours"]): Tick {
    const w = this.#walks.get(symbol)!;
    const day = exchangeDay(time);
    if (day !== w.day) {
      // A new session: yesterday's last price is the previous close.
      w.previousClose = w.price;
      w.dayHigh = w.dayLow = w.price;
      w.dayVolume = 0;
      w.day = day;
    }
    const r = demoLogReturn(w.profile, at - w.at, () => this.#normal(), () => this.#random());
    w.at = Math.max(w.at, at);
    w.level = Math.max(0.01, w.level * Math.exp(r));
    w.price = Math.round(w.level * 100) / 100;
    w.dayHigh = Math.max(w.dayHigh, w.price);
    w.dayLow = Math.min(w.dayLow, w.price);
    const size = 1 + Math.floor(this.#random() * 500);
    w.dayVolume += size;
    const change = Math.round((w.price - w.previousClose) * 100) / 100;
    this.#lastTickAt = time;
    return {
      symbol,
      price: w.price,
      time,
      source: "synthetic",
      quoteType: "equity",
      marketHours: session,
      currency: "USD",
      exchange: "DEMO",
      change,
      changePercent: Math.round(change / w.previousClose * 1e6) / 1e4,
      dayVolume: w.dayVolume,
      dayHigh: w.dayHigh,
      dayLow: w.dayLow,
      previousClose: w.previousClose,
      lastSize: size,
      priceHint: 2,
    };
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return Promise.resolve();
  }

  status(): FeedStatus {
    return {
      state: !this.#timer ? "stopped" : this.#closed ? "closed" : "live",
      lastTickAt: this.#lastTickAt,
    };
  }
}
