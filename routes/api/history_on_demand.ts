import { runOhlcvFetch } from "../../jobs/ohlcv_job.ts";
import type { FetchInterval, OhlcvProvider } from "../../jobs/providers.ts";
import type { HistoryCandle as Candle } from "../../schema/candle.ts";
import type { Store } from "../../store/store.ts";
import type { Logger } from "../../schema/log.ts";

const DAY = 86_400_000;

/** What one on-demand fetch did, as the history answer reports it. */
export interface OnDemandResult {
  /** The provider asked (yahoo, massive). */
  provider: string;
  interval: FetchInterval;
  /** The range asked of the provider (after its limits), epoch ms. */
  from: number;
  to: number;
  /** Candles written to the store (0: the provider had none, or they were stored already). */
  candlesWritten: number;
  /** How long the fetch took, ms. */
  ms: number;
  /** Set when the provider failed or does not know the symbol. */
  error?: { code: "unknown_symbol" | "provider_failed"; message: string };
}

/** Options of {@link HistoryOnDemand}. */
export interface HistoryOnDemandOptions {
  store: Store;
  /**
   * The history provider (yahoo-finance2's chart, or Massive with a key): one for the process, so its polite fetch
   * bounds requests in flight across every on-demand fetch.
   */
  provider: OhlcvProvider;
  /** Called after candles were written, so caches drop what the write covers. */
  onWrite?: (symbol: string, from: number) => void;
  /** A range fetched (or refused) is not asked again for this long (default 10 minutes). */
  rememberMs?: number;
  now?: () => number;
  log?: Logger;
}

/**
 * History for any symbol and range on demand: when a history request finds the store empty over its range (or
 * starting well after it), the missing range is fetched from the provider within the request, stored idempotently
 * (the OHLCV job's own path: versioned rows, data-quality findings in job_runs), and the request reads the store
 * again. Concurrent requests for the same gap share one fetch; a gap fetched recently is not fetched again.
 *
 * @example
 * ```ts
 * const onDemand = new HistoryOnDemand({ store, provider: historyProvider(config, politeFetch()) });
 * const plan = onDemand.plan("IBM", "1d", from, to, storedCandles);
 * if (plan.fetch) await onDemand.fetch("IBM", plan.fetch);
 * ```
 */
export class HistoryOnDemand {
  readonly #o: Required<Omit<HistoryOnDemandOptions, "onWrite" | "log">> & HistoryOnDemandOptions;
  readonly #inflight = new Map<string, Promise<OnDemandResult>>();
  readonly #recent = new Map<string, { at: number; result: OnDemandResult }>();

  constructor(o: HistoryOnDemandOptions) {
    this.#o = { rememberMs: 10 * 60_000, now: Date.now, ...o };
  }

  /**
   * What to fetch for a request over [from, to) at `interval` whose stored candles are `stored`, and a notice
   * when the provider cannot have part of the range (1-minute bars reach back 30 days at Yahoo).
   *
   * @returns `fetch`: the range to ask for (undefined: the store covers the request); `notice`: text for the user.
   */
  plan(
    interval: string,
    from: number,
    to: number,
    stored: readonly Candle[],
  ): { fetch?: { interval: FetchInterval; from: number; to: number }; notice?: string } {
    const now = this.#o.now();
    const fi: FetchInterval = interval === "1d" ? "1d" : "1m";
    let start = from;
    const end = Math.min(to, now);
    let notice: string | undefined;
    if (fi === "1m") {
      const reach = this.#o.provider.minuteLimits.maxAgeMs;
      const floor = now - reach;
      if (start < floor) {
        notice = `intraday candles reach back ${Math.round(reach / DAY)} days at the data provider; ` +
          `use interval=1d for older ranges`;
        start = floor;
      }
    }
    if (start >= end) return notice ? { notice } : {};
    // Covered: candles from near the start of the range (weekends and holidays have none; intraday, nights).
    const slack = fi === "1d" ? 7 * DAY : 4 * DAY;
    const first = stored[0]?.time;
    if (first !== undefined && first - start <= slack) return notice ? { notice } : {};
    const range = fi === "1d"
      ? { from: Math.floor(start / DAY) * DAY, to: Math.min(now, Math.ceil(end / DAY) * DAY) }
      : { from: Math.floor(start / 60_000) * 60_000, to: end };
    if (first !== undefined) range.to = Math.min(range.to, first);
    return { fetch: { interval: fi, ...range }, ...(notice ? { notice } : {}) };
  }

  /**
   * Fetches and stores one planned range, once: a request for the same symbol and range while it runs waits for
   * it, and one within `rememberMs` after it gets its result without asking the provider again.
   */
  fetch(symbol: string, range: { interval: FetchInterval; from: number; to: number }): Promise<OnDemandResult> {
    // Keyed by day (1d) or hour (1m), so requests a few seconds apart share the fetch.
    const grain = range.interval === "1d" ? DAY : 3_600_000;
    const key = `${symbol}|${range.interval}|${Math.floor(range.from / grain)}|${Math.floor(range.to / grain)}`;
    const recent = this.#recent.get(key);
    if (recent && this.#o.now() - recent.at < this.#o.rememberMs) return Promise.resolve(recent.result);
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = this.#run(symbol, range).then((result) => {
      if (this.#recent.size >= 10_000) this.#recent.delete(this.#recent.keys().next().value!);
      this.#recent.set(key, { at: this.#o.now(), result });
      return result;
    }).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #run(symbol: string, range: { interval: FetchInterval; from: number; to: number }): Promise<OnDemandResult> {
    const provider = this.#o.provider;
    const t0 = performance.now();
    const run = await runOhlcvFetch({
      store: this.#o.store,
      provider,
      symbols: [symbol],
      intervals: [range.interval],
      from: range.from,
      to: range.to,
      job: "history_on_demand",
      ...(this.#o.log ? { log: this.#o.log } : {}),
    });
    const result: OnDemandResult = {
      provider: provider.name,
      interval: range.interval,
      from: range.from,
      to: range.to,
      candlesWritten: run.rowsWritten,
      ms: Math.round(performance.now() - t0),
    };
    const unknown = run.findings.unknownSymbols.examples[0] as { message?: string } | undefined;
    const failed = run.findings.errors.examples[0] as { message?: string } | undefined;
    if (unknown) result.error = { code: "unknown_symbol", message: `${provider.name} does not know ${symbol}` };
    else if (failed) {
      result.error = { code: "provider_failed", message: `${provider.name} did not answer: ${failed.message}` };
    }
    if (run.rowsWritten > 0) this.#o.onWrite?.(symbol, range.from);
    return result;
  }
}
