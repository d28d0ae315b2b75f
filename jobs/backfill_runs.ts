import { keys } from "../actors/keys.ts";
import type { BackfillRequest, BackfillRun } from "../schema/backfill.ts";
import type { Store } from "../store/store.ts";
import { runOhlcvFetch } from "./ohlcv_job.ts";
import type { OhlcvProvider } from "./providers.ts";
import type { Logger } from "../schema/log.ts";

const DAY = 86_400_000;

/**
 * Where a backfill without `to` ends: today's start for daily candles, the current minute for minute ones. A stable end
 * keeps a rerun's units the same, so the finished ones are skipped.
 */
export function backfillEnd(interval: string, now: number): number {
  return interval === "1d" ? Math.floor(now / DAY) * DAY : Math.floor(now / 60_000) * 60_000;
}

/** The units a backfill finished, remembered in KV for 30 days, so the same backfill asked again resumes. */
export function backfillCheckpoint(kv: Deno.Kv) {
  return {
    done: async (unit: string) => (await kv.get(keys.backfillDone(unit))).value !== null,
    mark: async (unit: string) => void await kv.set(keys.backfillDone(unit), Date.now(), { expireIn: 30 * DAY }),
  };
}

/** Options of {@link BackfillRuns}. */
export interface BackfillRunsOptions {
  store: Store;
  kv: Deno.Kv;
  /** The provider with its own polite fetch (bounded concurrency and rate), shared by every run of this process. */
  provider: OhlcvProvider;
  /** Stops runs in flight at shutdown. */
  signal?: AbortSignal;
  now?: () => number;
  log?: Logger;
}

/**
 * Backfills inside the running app, so the embedded store's owner does the writing (`deno task backfill --url`,
 * or POST /api/v1/admin/backfill). One run at a time per process; each finished unit (symbol × interval × year) is
 * remembered in KV exactly as the standalone command does, so a run stopped by a restart resumes when asked again.
 * The last 20 runs stay readable with their progress.
 *
 * @example
 * ```ts
 * const runs = new BackfillRuns({ store, kv, provider: historyProvider(config, politeFetch()) });
 * const { run } = runs.start(backfillRequest.parse({ symbols: "IBM", from: "2021-01-04" }));
 * // later: runs.get(run.id)?.progress.symbolsDone
 * ```
 */
export class BackfillRuns {
  readonly #o: BackfillRunsOptions;
  readonly #runs = new Map<string, BackfillRun>();
  #running: Promise<void> | undefined;

  constructor(o: BackfillRunsOptions) {
    this.#o = o;
  }

  /** The run in flight, if any. */
  get active(): BackfillRun | undefined {
    return [...this.#runs.values()].find((r) => r.status === "running");
  }

  /**
   * Starts a backfill and returns its record at once (`started: true`); progress moves on the record. While another
   * run is in flight, nothing starts and that run is returned (`started: false`).
   */
  start(req: BackfillRequest): { run: BackfillRun; started: boolean } {
    const busy = this.active;
    if (busy) return { run: busy, started: false };
    const now = (this.#o.now ?? Date.now)();
    const to = req.to ?? backfillEnd(req.interval, now);
    const run: BackfillRun = {
      id: crypto.randomUUID(),
      status: "running",
      symbols: req.symbols,
      interval: req.interval,
      from: req.from,
      to,
      startedAt: now,
      progress: {
        symbolsDone: 0,
        symbolsTotal: req.symbols.length,
        candlesWritten: 0,
        elapsedMs: 0,
        rate: 0,
        etaMs: null,
      },
    };
    this.#runs.set(run.id, run);
    for (const id of [...this.#runs.keys()].slice(0, Math.max(0, this.#runs.size - 20))) this.#runs.delete(id);
    this.#running = runOhlcvFetch({
      store: this.#o.store,
      provider: this.#o.provider,
      symbols: req.symbols,
      intervals: [req.interval],
      from: req.from,
      to,
      job: "backfill",
      ...(this.#o.signal ? { signal: this.#o.signal } : {}),
      checkpoint: backfillCheckpoint(this.#o.kv),
      onProgress: (p) => run.progress = p,
    }).then((r) => {
      run.status = r.status;
      run.result = { rowsWritten: r.rowsWritten, findings: r.findings, finishedAt: r.finishedAt };
      this.#o.log?.("info", "backfill finished", { id: run.id, status: r.status, rows: r.rowsWritten });
    }, (err) => {
      run.status = "error";
      run.error = err instanceof Error ? err.message : String(err);
      this.#o.log?.("warn", "backfill failed", { id: run.id, error: run.error });
    });
    return { run, started: true };
  }

  get(id: string): BackfillRun | undefined {
    return this.#runs.get(id);
  }

  /** Waits for the run in flight, if any (shutdown). */
  async settled(): Promise<void> {
    await this.#running;
  }
}
