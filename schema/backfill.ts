import { z } from "zod";
import { parseIsoTime } from "./time.ts";
import { symbolSchema } from "./symbol.ts";

/** Intervals the history providers fetch. */
export const FETCH_INTERVALS = ["1d", "1m"] as const;
/** An interval the history jobs fetch. */
export type FetchInterval = (typeof FETCH_INTERVALS)[number];

/** Progress of a history fetch. */
export interface Progress {
  symbolsDone: number;
  symbolsTotal: number;
  candlesWritten: number;
  elapsedMs: number;
  /** Candles written per second so far. */
  rate: number;
  /** Estimated time left, from the symbols done so far; null before the first. */
  etaMs: number | null;
}

/** A time as the API takes it: epoch ms, or an ISO 8601 date or date-time. */
const when = (what: string) =>
  z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
    const t = typeof v === "number" ? v : parseIsoTime(v);
    if (t === undefined) {
      ctx.addIssue({ code: "custom", message: `${what}: an ISO 8601 date (2021-01-04) or epoch ms` });
      return z.NEVER;
    }
    return t;
  });

/** Body of POST /api/v1/admin/backfill: what `deno task backfill` takes on its command line. */
export const backfillRequest = z.object({
  symbols: z.union([
    z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)),
    z.array(z.string()),
  ])
    .pipe(z.array(symbolSchema).min(1, { error: "symbols: at least one" }).max(5_000)),
  from: when("from"),
  to: when("to").optional(),
  interval: z.enum(FETCH_INTERVALS, { error: "interval: 1d or 1m" }).default("1d"),
}).refine((r) => r.to === undefined || r.from < r.to, { path: ["to"], error: "from must be before to" });

/** A backfill request after validation. */
export type BackfillRequest = z.infer<typeof backfillRequest>;

/** One backfill as the running app reports it. */
export interface BackfillRun {
  id: string;
  status: "running" | "ok" | "partial" | "failed" | "cancelled" | "error";
  symbols: string[];
  interval: string;
  from: number;
  to: number;
  startedAt: number;
  progress: Progress;
  /** The finished run: rows written and data-quality findings (as in job_runs). */
  result?: { rowsWritten: number; findings: unknown; finishedAt: number };
  error?: string;
}
