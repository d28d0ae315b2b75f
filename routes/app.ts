import { Hono } from "hono";
import type { FeedStatus } from "../schema/health.ts";
import type { Store } from "../store/store.ts";
import { healthRoutes } from "./api/health.ts";
import { notFound, onError } from "./errors.ts";
import { type Metrics, metricsRoutes } from "./metrics.ts";

/** Everything the HTTP app reads from; passed in so tests build the app on their own KV and store. */
export interface AppDeps {
  store: Store;
  kv: Deno.Kv;
  /** Current state of the live feed. */
  feed: () => FeedStatus;
  /** Served at /metrics when given. */
  metrics?: Metrics;
}

/**
 * Builds the Hono app from its dependencies. Holds no state of its own: serving it with Deno.serve, or calling
 * `app.fetch` in a test, is all it takes.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound);
  app.route("/api/v1/health", healthRoutes(deps));
  if (deps.metrics) app.route("/metrics", metricsRoutes(deps.metrics));
  return app;
}
