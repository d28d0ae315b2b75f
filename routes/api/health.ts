import { createRoute, z } from "@hono/zod-openapi";
import type { Env } from "hono";
import type { BrokerStatus } from "../../broker/broker.ts";
import { FEED_DOWN_STATES, type FeedStatus, type Health, healthSchema } from "../../schema/health.ts";
import { access, apiRouter, json } from "./declare.ts";
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
  /** Results older than this start a new round of probes (default 1,000 ms). */
  intervalMs?: number;
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

type Probe = Awaited<ReturnType<typeof probe>> & { at: number };

/**
 * The store and KV probes behind the health endpoints, run in the background: a request answers at once from the
 * last results (with their age), and a request that finds them older than `intervalMs` starts the next round without
 * waiting for it. Only the very first request waits for a round. No timer runs while nobody asks.
 */
class Probes {
  #last: { store: Probe; kv: Probe } | undefined;
  #round: Promise<void> | undefined;

  constructor(
    private readonly deps: HealthDeps,
    private readonly timeoutMs: number,
    private readonly intervalMs: number,
  ) {}

  async results(): Promise<{ store: Probe; kv: Probe }> {
    if (!this.#last) await this.#refresh();
    else if (Date.now() - Math.min(this.#last.store.at, this.#last.kv.at) > this.intervalMs) void this.#refresh();
    return this.#last!;
  }

  #refresh(): Promise<void> {
    this.#round ??= (async () => {
      const [store, kv] = await Promise.all([
        probe(() => this.deps.store.ping(), this.timeoutMs),
        probe(() => this.deps.kv.get(["health"]), this.timeoutMs),
      ]);
      const at = Date.now();
      this.#last = { store: { ...store, at }, kv: { ...kv, at } };
    })().finally(() => this.#round = undefined);
    return this.#round;
  }
}

/**
 * GET /api/v1/health: store and KV each answer a trivial read (probed in the background, `ageMs` old at most about a
 * second under traffic); the feed and the bus report their state.
 *
 * 200 with status "ok" when the store and KV answer; 503 with status "degraded" when either does not. A feed that is
 * reconnecting, unreachable or failed shows in `feed` (with its last error and since when) and in status "degraded",
 * but keeps the 200: the process still serves history.
 * A bus (NATS) that is down shows in `bus` and makes the status "degraded" with a 200 too: the process serves, but
 * live data does not cross instances until it is back.
 *
 * GET /api/v1/health/live: 200 while the process serves HTTP; it touches nothing (the liveness probe).
 * GET /api/v1/health/ready: 200 when store, KV and bus answer, else 503 (the readiness probe a load balancer uses).
 */
export function healthRoutes(deps: HealthDeps) {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  const probes = new Probes(deps, timeoutMs, deps.intervalMs ?? 1_000);
  const age = (p: Probe, now: number) => {
    const { at, ...rest } = p;
    return { ...rest, ageMs: now - at };
  };
  const tags = ["operations"];
  const ready = z.object({ ready: z.boolean(), store: z.boolean(), kv: z.boolean(), bus: z.boolean().optional() });
  return apiRouter<Env>()
    .openapi(
      createRoute({
        method: "get",
        path: "/live",
        tags,
        summary: "Liveness: 200 while the process serves HTTP; touches nothing",
        ...access("public"),
        responses: { 200: json(z.object({ status: z.literal("alive") })) },
      }),
      (c) => {
        c.header("Cache-Control", "no-store");
        return c.json({ status: "alive" as const }, 200);
      },
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/ready",
        tags,
        summary: "Readiness: 200 when store, KV and bus answer, else 503",
        ...access("public"),
        responses: { 200: json(ready, "ready"), 503: json(ready, "not ready: see which part is false") },
      }),
      async (c) => {
        const { store, kv } = await probes.results();
        const bus = deps.bus?.();
        const ok = store.ok && kv.ok && bus?.ok !== false;
        c.header("Cache-Control", "no-store");
        const body = { ready: ok, store: store.ok, kv: kv.ok, ...(bus ? { bus: bus.ok } : {}) };
        return ok ? c.json(body, 200) : c.json(body, 503);
      },
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        tags,
        summary: "Store, KV, feed and bus health, from background probes",
        ...access("public"),
        responses: { 200: json(healthSchema, "serving"), 503: json(healthSchema, "store or KV does not answer") },
      }),
      async (c) => {
        const { store, kv } = await probes.results();
        const now = Date.now();
        const feed = deps.feed?.();
        const bus = deps.bus?.();
        const serving = store.ok && kv.ok;
        const body: Health = {
          status: serving && !FEED_DOWN_STATES.has(feed?.state ?? "live") && bus?.ok !== false ? "ok" : "degraded",
          ...(deps.role ? { role: deps.role } : {}),
          store: { ...age(store, now), driver: deps.store.driver },
          kv: age(kv, now),
          ...(feed ? { feed } : {}),
          ...(bus ? { bus } : {}),
        };
        c.header("Cache-Control", "no-store");
        return serving ? c.json(body, 200) : c.json(body, 503);
      },
    );
}
