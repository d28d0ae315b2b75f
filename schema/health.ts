import { z } from "zod";

/**
 * States a feed reports: not yet started or stopped, connecting, streaming, reconnecting after a loss, unreachable
 * (never reached its source, still trying), failed (a rejected key: not retried), or closed (the demo market outside
 * the NYSE regular session).
 */
export const FEED_STATES = [
  "stopped",
  "connecting",
  "live",
  "reconnecting",
  "unreachable",
  "error",
  "closed",
] as const;

/** Feed states in which no prices flow although they should: health is "degraded" and the log says so. */
export const FEED_DOWN_STATES: ReadonlySet<string> = new Set(["reconnecting", "unreachable", "error"]);

/** What a feed reports to /api/v1/health. */
export const feedStatusSchema = z.object({
  state: z.enum(FEED_STATES),
  /** Epoch ms of the last tick received, null before the first. */
  lastTickAt: z.number().int().nullable(),
  /** Why the feed is in `error`, or why its last attempt failed while reconnecting or unreachable. */
  error: z.string().optional(),
  /** Epoch ms since which attempts have been failing. */
  since: z.number().int().optional(),
});

/** Status of one feed. */
export type FeedStatus = z.infer<typeof feedStatusSchema>;

const componentSchema = z.object({
  ok: z.boolean(),
  latencyMs: z.number(),
  /** How long ago the background probe ran. */
  ageMs: z.number().int().optional(),
  error: z.string().optional(),
});

/** The bus between instances: "memory" in one process, "nats" across many. */
export const busStatusSchema = z.object({
  name: z.string(),
  ok: z.boolean(),
  /** Epoch ms since which `ok` holds. */
  since: z.number().int(),
  error: z.string().optional(),
});

/** Body of GET /api/v1/health. */
export const healthSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  /** What this process does (ROLE). */
  role: z.enum(["all", "ingest", "web"]).optional(),
  store: componentSchema.extend({ driver: z.enum(["embedded", "http"]) }),
  kv: componentSchema,
  /** The live feed, on processes that run one (ROLE=all and ingest). */
  feed: feedStatusSchema.optional(),
  bus: busStatusSchema.optional(),
});

/** Body of GET /api/v1/health. */
export type Health = z.infer<typeof healthSchema>;

/** The error body every failing endpoint answers with. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

/** The error body every failing endpoint answers with. */
export type ErrorBody = z.infer<typeof errorBodySchema>;
