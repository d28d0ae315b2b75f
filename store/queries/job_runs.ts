/** Queries over job_runs: each history job run, written at its start and again at its end. */
import type { Store } from "../store.ts";

/** One run of a history job. */
export interface JobRun {
  id: string;
  job: string;
  status: string;
  startedAt: number;
  /** Null while the run is going. */
  finishedAt: number | null;
  symbols: number;
  rowsWritten: number;
  /** The data-quality findings (JSON), or null when the stored text is not JSON. */
  findings: unknown;
  error?: string;
}

/**
 * Records a run's state; a later record of the same id (higher version) replaces the earlier one.
 *
 * @example
 * ```ts
 * await recordJobRun(store, { id, job: "ohlcv_fetch", status: "running", startedAt: Date.now(), finishedAt: null,
 *   symbols: 3, rowsWritten: 0, findings: {} });
 * ```
 */
export async function recordJobRun(store: Store, run: JobRun): Promise<void> {
  await store.insert("job_runs", [{
    id: run.id,
    job: run.job,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    status: run.status,
    symbols: run.symbols,
    rows_written: run.rowsWritten,
    findings: JSON.stringify(run.findings),
    error: run.error ?? "",
    version: run.finishedAt ?? run.startedAt,
  }]);
}

interface RunRow {
  id: string;
  job: string;
  started: number | string;
  finished: number | string | null;
  status: string;
  symbols: number | string;
  rows_written: number | string;
  findings: string;
  error: string;
}

/**
 * The latest runs, newest first, of one job or of all.
 *
 * @example
 * ```ts
 * const [last] = await listJobRuns(store, { job: "ohlcv_fetch", limit: 1 });
 * ```
 */
export async function listJobRuns(store: Store, q: { job?: string; limit: number }): Promise<JobRun[]> {
  const rows = await store.query<RunRow>(
    `SELECT id, job, toUnixTimestamp64Milli(started_at) AS started,
            if(isNull(finished_at), NULL, toUnixTimestamp64Milli(assumeNotNull(finished_at))) AS finished,
            status, symbols, rows_written, findings, error
     FROM job_runs FINAL
     ${q.job ? "WHERE job = {job:String}" : ""}
     ORDER BY started_at DESC, id LIMIT {limit:UInt32}`,
    { limit: q.limit, ...(q.job ? { job: q.job } : {}) },
  );
  return rows.map((r) => ({
    id: r.id,
    job: r.job,
    status: r.status,
    startedAt: Number(r.started),
    finishedAt: r.finished === null ? null : Number(r.finished),
    symbols: Number(r.symbols),
    rowsWritten: Number(r.rows_written),
    findings: parseOrNull(r.findings),
    ...(r.error ? { error: r.error } : {}),
  }));
}

/**
 * How many runs of `job` finished with data (status ok or partial).
 *
 * @example
 * ```ts
 * if (await completedRuns(store, "ohlcv_fetch") === 0) history.trigger();
 * ```
 */
export async function completedRuns(store: Store, job: string): Promise<number> {
  const rows = await store.query<{ n: number | string }>(
    "SELECT count() AS n FROM job_runs FINAL WHERE job = {job:String} AND status IN ('ok', 'partial')",
    { job },
  );
  return Number(rows[0]?.n ?? 0);
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
