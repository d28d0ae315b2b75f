import { Hono } from "hono";
import type { BrokerStatus } from "../../broker/broker.ts";
import type { FeedStatus, Health } from "../../schema/health.ts";
import type { Store } from "../../store/store.ts";

/** What the health endpoint looks at. */
export interface HealthDeps {
  store: Store;
  kv: Deno.Kv;
  /** The live feed, where this process runs one. */
  feed?: () => FeedStatus;
  /** The bus between instances: a down bus makes the status "degraded" and names it. */
  bus?: () => BrokerStatus;
  role?: "all" | "ingest" | "web";
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
 * A bus (NATS) that is down shows in `bus` and makes the status "degraded" with a 200 too: the process serves, but
 * live data does not cross instances until it is back.
 */
export function healthRoutes(deps: HealthDeps): Hono {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  return new Hono().get("/", async (c) => {
    const [store, kv] = await Promise.all([
      probe(() => deps.store.ping(), timeoutMs),
      probe(() => deps.kv.get(["health"]), timeoutMs),
    ]);
    const feed = deps.feed?.();
    const bus = deps.bus?.();
    const serving = store.ok && kv.ok;
    const body: Health = {
      status: serving && feed?.state !== "error" && bus?.ok !== false ? "ok" : "degraded",
      ...(deps.role ? { role: deps.role } : {}),
      store: { ...store, driver: deps.store.driver },
      kv,
      ...(feed ? { feed } : {}),
      ...(bus ? { bus } : {}),
    };
    c.header("Cache-Control", "no-store");
    return c.json(body, serving ? 200 : 503);
  });
}
