import { createRoute, z } from "@hono/zod-openapi";
import type { Env } from "hono";
import { limitParam } from "./query.ts";
import type { Store } from "../../store/store.ts";
import { listJobRuns } from "../../store/queries/job_runs.ts";
import { jobsSchema } from "../../schema/api.ts";
import { access, apiRouter, errors, json } from "./declare.ts";

/** Query of GET /api/v1/jobs. */
export const jobsQuery = z.object({
  job: z.string().regex(/^[a-z_]{1,32}$/, { error: "job is a job name such as ohlcv_fetch or backfill" }).optional(),
  limit: limitParam(100, 20),
});

/**
 * GET /api/v1/jobs: the latest runs of the history jobs, newest first, each with its data-quality findings.
 *
 * @param store where job runs are recorded
 * @returns the router to mount at /api/v1/jobs
 */
export function jobRoutes(store: Store) {
  return apiRouter<Env>().openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["operations"],
      summary: "Latest history-job runs with their data-quality findings",
      ...access("public"),
      request: { query: jobsQuery },
      responses: { 200: json(jobsSchema), ...errors() },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json({ runs: await listJobRuns(store, { limit: q.limit, ...(q.job ? { job: q.job } : {}) }) }, 200);
    },
  );
}
