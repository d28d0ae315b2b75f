import assert from "node:assert/strict";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import type { FeedStatus } from "../schema/health.ts";
import { healthSchema } from "../schema/health.ts";
import type { Store } from "../store/store.ts";
import { dropStore, openTestStore } from "../tests/embedded_store.ts";
import { createApp } from "./app.ts";
import { ApiError } from "./errors.ts";
import { KvBusyError } from "../actors/kv_versioned.ts";

/** Serves the app on a free port with a real embedded store and an in-memory KV. */
async function serve(opts: { feed?: FeedStatus; closeStore?: boolean; closeKv?: boolean } = {}) {
  const store: Store = await openTestStore();
  const kv = await Deno.openKv(":memory:");
  const feed = opts.feed ?? { state: "live", lastTickAt: 1_763_700_000_000 };
  const app = createApp({ store, kv, feed: () => feed });
  app.get("/test/api-error", () => {
    throw new ApiError(422, "invalid_input", "from must be before to", [{ path: "from", message: "after to" }]);
  });
  app.get("/test/http-exception", () => {
    throw new HTTPException(401, { message: "sign in first" });
  });
  app.get("/test/zod", () => {
    z.object({ interval: z.enum(["1m", "1d"]) }).parse({ interval: "7m" });
    return new Response("unreachable");
  });
  app.get("/test/kv-busy", () => {
    throw new KvBusyError("rule r1 could not be saved: storage is busy; try again shortly");
  });
  app.get("/test/crash", () => {
    throw new Error("secret connection string postgres://u:p@h");
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const database = store.database;
  if (opts.closeStore) await dropStore(store);
  if (opts.closeKv) kv.close();
  return {
    base,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      if (!opts.closeStore) await dropStore(store);
      if (!opts.closeKv) kv.close();
    },
    database,
  };
}

Deno.test("GET /api/v1/health answers 200 ok with store, KV and feed status", async () => {
  await using s = await serve();
  const res = await fetch(`${s.base}/api/v1/health`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("cache-control"), "no-store");
  const body = healthSchema.parse(await res.json());
  assert.equal(body.status, "ok");
  assert.equal(body.store.ok, true);
  assert.equal(body.store.driver, "embedded");
  assert.equal(body.kv.ok, true);
  assert.deepEqual(body.feed, { state: "live", lastTickAt: 1_763_700_000_000 });
});

Deno.test("GET /api/v1/health answers 503 degraded when the store does not answer", async () => {
  await using s = await serve({ closeStore: true });
  const res = await fetch(`${s.base}/api/v1/health`);
  assert.equal(res.status, 503);
  const body = healthSchema.parse(await res.json());
  assert.equal(body.status, "degraded");
  assert.equal(body.store.ok, false);
  assert.match(body.store.error ?? "", /store is closed/);
  assert.equal(body.kv.ok, true);
});

Deno.test("GET /api/v1/health answers 503 degraded when KV does not answer", async () => {
  await using s = await serve({ closeKv: true });
  const res = await fetch(`${s.base}/api/v1/health`);
  assert.equal(res.status, 503);
  const body = healthSchema.parse(await res.json());
  assert.equal(body.kv.ok, false);
  assert.equal(body.store.ok, true);
});

Deno.test("a failed feed makes health degraded but keeps 200: history is still served", async () => {
  await using s = await serve({ feed: { state: "error", lastTickAt: null, error: "auth failed" } });
  const res = await fetch(`${s.base}/api/v1/health`);
  assert.equal(res.status, 200);
  const body = healthSchema.parse(await res.json());
  assert.equal(body.status, "degraded");
  assert.equal(body.feed?.error, "auth failed");
});

Deno.test("unknown routes get the JSON 404 error shape", async () => {
  await using s = await serve();
  for (const path of ["/nope", "/api/v1/../../etc/passwd", "/api/v2/health"]) {
    const res = await fetch(`${s.base}${path}`);
    assert.equal(res.status, 404, path);
    const body = await res.json();
    assert.equal(body.error.code, "not_found");
    assert.match(body.error.message, /^no route for GET \//);
  }
  const post = await fetch(`${s.base}/api/v1/health`, { method: "POST", body: "{}" });
  assert.equal(post.status, 404);
  assert.equal((await post.json()).error.code, "not_found");
});

Deno.test("onError maps every kind of failure to the JSON error shape", async () => {
  await using s = await serve();
  const get = async (path: string) => {
    const res = await fetch(`${s.base}${path}`);
    return { status: res.status, body: await res.json() };
  };
  assert.deepEqual(await get("/test/api-error"), {
    status: 422,
    body: {
      error: {
        code: "invalid_input",
        message: "from must be before to",
        issues: [{ path: "from", message: "after to" }],
      },
    },
  });
  assert.deepEqual(await get("/test/http-exception"), {
    status: 401,
    body: { error: { code: "unauthorized", message: "sign in first" } },
  });
  const zod = await get("/test/zod");
  assert.equal(zod.status, 400);
  assert.equal(zod.body.error.code, "invalid_input");
  assert.equal(zod.body.error.issues[0].path, "interval");
  const originalError = console.error;
  const logged: string[] = [];
  console.error = (line: string) => logged.push(line);
  try {
    const busy = await fetch(`${s.base}/test/kv-busy`);
    assert.equal(busy.status, 503, "a KV locked by another process is an outage to retry, not a fault");
    assert.equal(busy.headers.get("retry-after"), "1");
    assert.deepEqual(await busy.json(), {
      error: { code: "unavailable", message: "rule r1 could not be saved: storage is busy; try again shortly" },
    });
    logged.length = 0;
    const crash = await get("/test/crash");
    assert.deepEqual(crash, { status: 500, body: { error: { code: "internal", message: "internal server error" } } });
  } finally {
    console.error = originalError;
  }
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /"path":"\/test\/crash"/, "the detail goes to the log, not the client");
});

Deno.test("a store outage is a 503 with the JSON error shape, never a 500", async () => {
  await using s = await serve({ closeStore: true });
  const res = await fetch(`${s.base}/api/v1/jobs`);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("Retry-After"), "5");
  const body = await res.json();
  assert.equal(body.error.code, "unavailable");
  assert.match(body.error.message, /history store is not available/);
});

Deno.test("liveness never touches the store; readiness and health report it from background probes with their age", async () => {
  await using s = await serve({ closeStore: true });
  const live = await fetch(`${s.base}/api/v1/health/live`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: "alive" });
  const ready = await fetch(`${s.base}/api/v1/health/ready`);
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), { ready: false, store: false, kv: true });
  const body = healthSchema.parse(await (await fetch(`${s.base}/api/v1/health`)).json());
  assert.equal(body.store.ok, false);
  assert.equal(typeof body.store.ageMs, "number");
  assert.ok(body.store.ageMs! >= 0);
});
