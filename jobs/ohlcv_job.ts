import type { HistoryCandle } from "../schema/candle.ts";
import type { Store } from "../store/store.ts";
import { insertBars, lastStored, storedBars } from "../store/queries/candles.ts";
import { recordJobRun } from "../store/queries/job_runs.ts";
import type { Bar, FetchInterval, OhlcvProvider } from "./providers.ts";
import { UnknownSymbolError } from "./providers.ts";
import { checkBars, dedupe, emptyFindings, type Findings, note } from "./quality.ts";

const DAY = 86_400_000;
/** How far back the first daily fetch of a symbol goes. */
export const FIRST_DAILY_YEARS = 5;

/** Progress of a run, reported after every unit of work. */
export type { Progress } from "../schema/backfill.ts";
import type { Progress } from "../schema/backfill.ts";
import type { Logger } from "../schema/log.ts";

/** How a run ended: ok, partial (some symbols failed), failed (all did), or cancelled. */
export type RunStatus = "ok" | "partial" | "failed" | "cancelled";

/** One finished run, as written to `job_runs`. */
export interface RunResult {
  id: string;
  job: string;
  status: RunStatus;
  startedAt: number;
  finishedAt: number;
  symbols: number;
  rowsWritten: number;
  findings: Findings;
}

/** Options of {@link runOhlcvFetch}. */
export interface OhlcvFetchOptions {
  store: Store;
  provider: OhlcvProvider;
  symbols: readonly string[];
  /** Default both. */
  intervals?: readonly FetchInterval[];
  /** Start of the range; default: what is missing (five years back for a symbol with no daily candles). */
  from?: number;
  /** End of the range; default now. */
  to?: number;
  /** Name in job_runs (default "ohlcv_fetch"). */
  job?: string;
  /** Symbols fetched at once (default 4); the provider's fetch bounds requests in flight on its own. */
  concurrency?: number;
  signal?: AbortSignal;
  now?: () => number;
  onProgress?: (p: Progress) => void;
  /** Resumable runs: a unit of work (symbol, interval, range chunk) already done is skipped. */
  checkpoint?: { done(key: string): Promise<boolean>; mark(key: string): Promise<void> };
  log?: Logger;
}

const same = (b: Bar, r: HistoryCandle) =>
  b.open === r.open && b.high === r.high && b.low === r.low && b.close === r.close && b.volume === r.volume;

/**
 * Fetches OHLCV history for `symbols` from the provider and writes what is new or changed to candles_1d and
 * candles_1m. Idempotent: a bar equal to the stored one is not written again, so a second run over the same data
 * writes nothing; a provider's corrected bar replaces the stored one (higher version).
 *
 * Without `from`, a symbol's daily fetch starts at its last stored day (re-fetched, since it may have been partial),
 * or five years back; minute bars start at the last stored minute within the provider's reach (Yahoo: 30 days),
 * in chunks the provider accepts. Every run is recorded in job_runs, at start and at the end, with the findings of
 * the data-quality checks. A symbol the provider does not know, or whose fetch fails after retries, is a finding,
 * not the end of the run. An abort stops between units; what was written stays written.
 */
export async function runOhlcvFetch(o: OhlcvFetchOptions): Promise<RunResult> {
  const now = o.now ?? Date.now;
  const job = o.job ?? "ohlcv_fetch";
  const intervals = o.intervals ?? ["1d", "1m"];
  const startedAt = now();
  const id = crypto.randomUUID();
  const findings = emptyFindings();
  let rowsWritten = 0;
  let symbolsDone = 0;
  let failedSymbols = 0;
  const record = (status: RunStatus | "running", finishedAt: number | null) =>
    recordJobRun(o.store, {
      id,
      job,
      status,
      startedAt,
      finishedAt,
      symbols: o.symbols.length,
      rowsWritten,
      findings,
    });
  await record("running", null);
  const t0 = performance.now();
  const progress = () => {
    const elapsedMs = performance.now() - t0;
    o.onProgress?.({
      symbolsDone,
      symbolsTotal: o.symbols.length,
      candlesWritten: rowsWritten,
      elapsedMs,
      rate: elapsedMs > 0 ? rowsWritten / (elapsedMs / 1000) : 0,
      etaMs: symbolsDone > 0 ? (elapsedMs / symbolsDone) * (o.symbols.length - symbolsDone) : null,
    });
  };

  const unit = async (symbol: string, interval: FetchInterval, from: number, to: number) => {
    const key = `${symbol}|${interval}|${from}|${to}`;
    if (o.checkpoint && (await o.checkpoint.done(key))) return;
    const got = await o.provider.fetch(symbol, interval, from, to, o.signal);
    if (got.incomplete > 0) note(findings.incomplete, { symbol, interval, bars: got.incomplete }, got.incomplete);
    const bars = dedupe(findings, symbol, interval, got.bars);
    const stored = await storedBars(o.store, symbol, interval, from, to);
    const fresh = bars.filter((b) => {
      const s = stored.get(b.time);
      return !s || !same(b, s);
    });
    if (fresh.length > 0) {
      // Read the total after the await: symbols run concurrently, and each adds its own count.
      const written = await insertBars(o.store, interval, symbol, fresh, o.provider.name, now(), Infinity);
      rowsWritten += written;
    }
    // Checks see the stored series with this run's bars over it: a gap the run filled is not reported.
    const merged = new Map<number, Bar>();
    for (const [t, r] of stored) merged.set(t, r);
    for (const b of bars) merged.set(b.time, b);
    checkBars(findings, symbol, interval, [...merged.values()].sort((a, b) => a.time - b.time), got.splits);
    await o.checkpoint?.mark(key);
  };

  const doSymbol = async (symbol: string) => {
    try {
      for (const interval of intervals) {
        const to = o.to ?? now();
        if (interval === "1d") {
          const from = o.from ?? (await lastStored(o.store, symbol, "1d")) ??
            to - FIRST_DAILY_YEARS * 365.25 * DAY;
          await unit(symbol, "1d", Math.floor(from / DAY) * DAY, to);
        } else {
          const { maxAgeMs, maxSpanMs } = o.provider.minuteLimits;
          const floor = to - maxAgeMs;
          const from = Math.max(floor, o.from ?? (await lastStored(o.store, symbol, "1m")) ?? floor);
          for (let a = from; a < to && !o.signal?.aborted; a += maxSpanMs) {
            await unit(symbol, "1m", a, Math.min(to, a + maxSpanMs));
          }
        }
        if (o.signal?.aborted) return;
      }
    } catch (err) {
      if (o.signal?.aborted) return;
      failedSymbols++;
      if (err instanceof UnknownSymbolError) note(findings.unknownSymbols, { symbol, message: err.message });
      else {
        note(findings.errors, { symbol, message: err instanceof Error ? err.message : String(err) });
        o.log?.("warn", "history fetch failed for a symbol", { symbol, error: String(err) });
      }
    }
    symbolsDone++;
    progress();
  };

  const queue = [...o.symbols];
  const workers = Array.from({ length: Math.min(o.concurrency ?? 4, queue.length) }, async () => {
    for (let s = queue.shift(); s !== undefined && !o.signal?.aborted; s = queue.shift()) await doSymbol(s);
  });
  await Promise.all(workers);

  const status: RunStatus = o.signal?.aborted
    ? "cancelled"
    : failedSymbols === 0
    ? "ok"
    : failedSymbols === o.symbols.length
    ? "failed"
    : "partial";
  const finishedAt = Math.max(now(), startedAt + 1);
  await record(status, finishedAt);
  if (status === "failed" || status === "partial") {
    // A failed history run is a warning with its reason, not an info line among many.
    const first = findings.errors.examples[0] as { symbol?: string; message?: string } | undefined;
    o.log?.("warn", status === "failed" ? "history fetch failed" : "history fetch partly failed", {
      job,
      status,
      symbols: o.symbols.length,
      failedSymbols,
      rowsWritten,
      ...(first ? { reason: `${first.symbol}: ${first.message}` } : {}),
    });
  } else o.log?.("info", "history fetch finished", { job, status, symbols: o.symbols.length, rowsWritten });
  return { id, job, status, startedAt, finishedAt, symbols: o.symbols.length, rowsWritten, findings };
}
