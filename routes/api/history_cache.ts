import type { HistoryCandle as Candle } from "../../schema/candle.ts";

/** Options of {@link HistoryCache}. */
export interface HistoryCacheOptions {
  /** Entries kept at most, least recently used dropped first (default 2,000). */
  maxEntries?: number;
  /** Candles kept at most across entries (default 2,000,000, roughly 100-150 MB). */
  maxCandles?: number;
}

interface Entry {
  symbol: string;
  to: number;
  candles: Candle[];
}

/** Counters for /metrics and the read benchmark. */
export interface HistoryCacheStats {
  hits: number;
  misses: number;
  /** Requests that joined a query another request had already started. */
  shared: number;
  invalidated: number;
  entries: number;
}

/**
 * Stored candles by (symbol, interval, range), in process. Closed candles never change, except when a candle closes
 * or a backfill writes: {@link invalidate} drops the entries of a symbol whose range reaches the written time, so a
 * cached answer never hides a write. Concurrent identical requests share one store query.
 *
 * @example
 * ```ts
 * const cache = new HistoryCache();
 * const candles = await cache.get("AAPL", "1m", from, to, () => queryStore());
 * cache.invalidate("AAPL", writtenFrom);
 * ```
 */
export class HistoryCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Candle[]>>();
  /** Per symbol, bumped by each invalidation: a query that started before one is not stored. */
  readonly #epoch = new Map<string, number>();
  #candles = 0;
  readonly #max: Required<HistoryCacheOptions>;
  #stats: HistoryCacheStats = { hits: 0, misses: 0, shared: 0, invalidated: 0, entries: 0 };

  constructor(options: HistoryCacheOptions = {}) {
    this.#max = { maxEntries: 2_000, maxCandles: 2_000_000, ...options };
  }

  /**
   * The candles of one request: from the cache, from a query already running for the same key, or from `load`.
   *
   * @param load runs the store query; its result is cached unless the symbol was invalidated meanwhile.
   * @returns the stored candles (callers copy before changing them).
   */
  async get(symbol: string, interval: string, from: number, to: number, load: () => Promise<Candle[]>) {
    const key = `${symbol}\u0000${interval}\u0000${from}\u0000${to}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#stats.hits++;
      // Map order is recency: move to the back.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.candles;
    }
    const running = this.#inflight.get(key);
    if (running) {
      this.#stats.shared++;
      return await running;
    }
    this.#stats.misses++;
    const epoch = this.#epoch.get(symbol) ?? 0;
    const p = load().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    const candles = await p;
    if ((this.#epoch.get(symbol) ?? 0) === epoch) this.#store(key, { symbol, to, candles });
    return candles;
  }

  #store(key: string, e: Entry): void {
    if (e.candles.length > this.#max.maxCandles / 4) return; // one huge answer would evict everything else
    this.#entries.set(key, e);
    this.#candles += e.candles.length;
    for (const [k, old] of this.#entries) {
      if (this.#entries.size <= this.#max.maxEntries && this.#candles <= this.#max.maxCandles) break;
      this.#entries.delete(k);
      this.#candles -= old.candles.length;
    }
    this.#stats.entries = this.#entries.size;
  }

  /** Drops `symbol`'s entries whose range ends after `from` (epoch ms of the earliest candle written). */
  invalidate(symbol: string, from = 0): void {
    this.#epoch.set(symbol, (this.#epoch.get(symbol) ?? 0) + 1);
    for (const [k, e] of this.#entries) {
      if (e.symbol !== symbol || e.to <= from) continue;
      this.#entries.delete(k);
      this.#candles -= e.candles.length;
      this.#stats.invalidated++;
    }
    this.#stats.entries = this.#entries.size;
  }

  stats(): HistoryCacheStats {
    return { ...this.#stats };
  }
}
