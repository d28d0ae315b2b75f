import { Hono } from "hono";
import { z } from "zod";
import { limitParam } from "./query.ts";
import type { Store } from "../../store/store.ts";

/** Query of GET /api/v1/jobs. */
export const jobsQuery = z.object({
  job: z.string().regex(/^[a-z_]{1,32}$/, { error: "job is a job name such as ohlcv_fetch or backfill" }).optional(),
  limit: limitParam(100, 20),
});

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

/** GET /api/v1/jobs: the latest runs of the history jobs, newest first, each with its data-quality findings. */
export function jobRoutes(store: Store): Hono {
  return new Hono().get("/", async (c) => {
    const q = jobsQuery.parse(c.req.query());
    const rows = await store.query<RunRow>(
      `SELECT id, job, toUnixTimestamp64Milli(started_at) AS started,
              if(isNull(finished_at), NULL, toUnixTimestamp64Milli(assumeNotNull(finished_at))) AS finished,
              status, symbols, rows_written, findings, error
       FROM job_runs FINAL
       ${q.job ? "WHERE job = {job:String}" : ""}
       ORDER BY started_at DESC, id LIMIT {limit:UInt32}`,
      { limit: q.limit, ...(q.job ? { job: q.job } : {}) },
    );
    return c.json({
      runs: rows.map((r) => ({
        id: r.id,
        job: r.job,
        status: r.status,
        startedAt: Number(r.started),
        finishedAt: r.finished === null ? null : Number(r.finished),
        symbols: Number(r.symbols),
        rowsWritten: Number(r.rows_written),
        findings: safeJson(r.findings),
        ...(r.error ? { error: r.error } : {}),
      })),
    });
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
