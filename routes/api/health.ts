import { Hono } from "hono";
import type { FeedStatus, Health } from "../../schema/health.ts";
import type { Store } from "../../store/store.ts";

/** What the health endpoint looks at. */
export interface HealthDeps {
  store: Store;
  kv: Deno.Kv;
  feed: () => FeedStatus;
  /** How long a check may take before it counts as failed (default 2,000 ms). */
  timeoutMs?: number;
}

async function probe(fn: () => Promise<unknown>, timeoutMs: number) {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      error: err instanceof Error ? err.message : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /api/v1/health: store and KV each answer a trivial read; the feed reports its state.
 *
 * 200 with status "ok" when the store and KV answer; 503 with status "degraded" when either does not. A feed that is
 * down or reconnecting shows in `feed` and in status "degraded", but keeps the 200: the process still serves history.
 */
export function healthRoutes(deps: HealthDeps): Hono {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  return new Hono().get("/", async (c) => {
    const [store, kv] = await Promise.all([
      probe(() => deps.store.ping(), timeoutMs),
      probe(() => deps.kv.get(["health"]), timeoutMs),
    ]);
    const feed = deps.feed();
    const serving = store.ok && kv.ok;
    const body: Health = {
      status: serving && feed.state !== "error" ? "ok" : "degraded",
      store: { ...store, driver: deps.store.driver },
      kv,
      feed,
    };
    c.header("Cache-Control", "no-store");
    return c.json(body, serving ? 200 : 503);
  });
}
