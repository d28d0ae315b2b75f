import { Hono } from "hono";
import { z } from "zod";
import { limitParam } from "./query.ts";
import type { Store } from "../../store/store.ts";
import { listJobRuns } from "../../store/queries/job_runs.ts";

/** Query of GET /api/v1/jobs. */
export const jobsQuery = z.object({
  job: z.string().regex(/^[a-z_]{1,32}$/, { error: "job is a job name such as ohlcv_fetch or backfill" }).optional(),
  limit: limitParam(100, 20),
});

/** GET /api/v1/jobs: the latest runs of the history jobs, newest first, each with its data-quality findings. */
export function jobRoutes(store: Store): Hono {
  return new Hono().get("/", async (c) => {
    const q = jobsQuery.parse(c.req.query());
    return c.json({ runs: await listJobRuns(store, { limit: q.limit, ...(q.job ? { job: q.job } : {}) }) });
  });
}
