import type { FeedStatus } from "../schema/health.ts";
import type { Tick } from "../schema/tick.ts";
import type { Feed, FeedSink } from "./feed.ts";

/** Options of {@link SyntheticFeed}. */
export interface SyntheticOptions {
  sink: FeedSink;
  /** Ticks per second across all symbols (default 50). */
  ticksPerSecond?: number;
  /** Daily volatility of returns (default 0.02, i.e. 2 %). */
  dailyVolatility?: number;
  /** Chance that a tick is a jump of 2-6 % (default 0.0005). */
  jumpProbability?: number;
  /** Seed of the random walk, for repeatable runs (default: time based). */
  seed?: number;
  now?: () => number;
}

interface Walk {
  /** Exact level of the walk; ticks carry it rounded to cents. */
  level: number;
  price: number;
  previousClose: number;
  dayHigh: number;
  dayLow: number;
  dayVolume: number;
}

const TICK_MS = 50;

/**
 * A random-walk market for demos and load tests: every tick says `source: "synthetic"`.
 *
 * Prices follow a geometric random walk scaled so a trading day (6.5 h) has the configured volatility, with rare
 * jumps. Ticks are spread evenly over the symbols, emitted in bursts every 50 ms.
 */
export class SyntheticFeed implements Feed {
  readonly #o: Required<SyntheticOptions>;
  #walks = new Map<string, Walk>();
  #symbols: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastTickAt: number | null = null;
  #state = 0;
  #carry = 0;
  #cursor = 0;

  constructor(options: SyntheticOptions) {
    this.#o = {
      ticksPerSecond: 50,
      dailyVolatility: 0.02,
      jumpProbability: 0.0005,
      seed: Date.now() % 2 ** 31,
      now: Date.now,
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
    for (const s of symbols) {
      if (!this.#walks.has(s)) {
        const price = Math.round((20 + this.#random() * 480) * 100) / 100;
        this.#walks.set(s, { level: price, price, previousClose: price, dayHigh: price, dayLow: price, dayVolume: 0 });
      }
    }
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#burst(), TICK_MS);
  }

  #burst(): void {
    if (this.#symbols.length === 0) return;
    this.#carry += this.#o.ticksPerSecond * TICK_MS / 1000;
    const n = Math.floor(this.#carry);
    this.#carry -= n;
    const now = this.#o.now();
    const ticksPerSymbolPerDay = Math.max(1, this.#o.ticksPerSecond / this.#symbols.length) * 23_400;
    const sigma = this.#o.dailyVolatility / Math.sqrt(ticksPerSymbolPerDay);
    for (let i = 0; i < n; i++) {
      const symbol = this.#symbols[this.#cursor++ % this.#symbols.length]!;
      this.#o.sink.tick(this.#step(symbol, now, sigma));
    }
  }

  #step(symbol: string, now: number, sigma: number): Tick {
    const w = this.#walks.get(symbol)!;
    let r = sigma * this.#normal();
    if (this.#random() < this.#o.jumpProbability) r += (this.#random() < 0.5 ? -1 : 1) * (0.02 + this.#random() * 0.04);
    w.level = Math.max(0.01, w.level * Math.exp(r));
    w.price = Math.round(w.level * 100) / 100;
    w.dayHigh = Math.max(w.dayHigh, w.price);
    w.dayLow = Math.min(w.dayLow, w.price);
    const size = 1 + Math.floor(this.#random() * 500);
    w.dayVolume += size;
    const change = Math.round((w.price - w.previousClose) * 100) / 100;
    this.#lastTickAt = now;
    return {
      symbol,
      price: w.price,
      time: now,
      source: "synthetic",
      quoteType: "equity",
      marketHours: "regular",
      currency: "USD",
      exchange: "SYN",
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
    return { state: this.#timer ? "live" : "stopped", lastTickAt: this.#lastTickAt };
  }
}
