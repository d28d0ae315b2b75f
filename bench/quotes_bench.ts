/**
 * `/api/v1/stocks/{symbol}` under 50 concurrent keep-alive clients (bench/http_load.ts in its own process), against a
 * bare Hono app on Deno.serve returning the same body from memory, in the same run. Breadboard runs as a child process
 * (ROLE=all, demo feed); its clients send an identity cookie, as a browser does.
 */
import { Hono } from "hono";
import { startApp } from "../tests/app_process.ts";
import { httpLoad, once } from "./harness.ts";

const SECONDS = 10;
const CLIENTS = 50;

const load = (urls: string[], headers: string[] = []) => httpLoad(SECONDS, CLIENTS, urls, { headers });

/** Breadboard (ROLE=all, demo feed on one symbol) with `env`, until `stop`. */
async function breadboard(env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "breadboard-quotes-bench-" });
  const app = await startApp({
    DATA_DIR: dir,
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    SYNTHETIC_HISTORY: "false",
    SYMBOLS: "AAPL",
    MAX_CONNECTIONS_PER_IP: "100000",
    ...env,
  });
  const url = `http://127.0.0.1:${app.port}/api/v1/stocks/AAPL`;
  let first = await fetch(url);
  while (first.status !== 200) {
    await first.body?.cancel();
    await new Promise((r) => setTimeout(r, 200));
    first = await fetch(url);
  }
  const cookie = first.headers.get("set-cookie")?.split(";")[0] ?? "";
  const body = await first.text();
  return {
    url,
    cookie,
    body,
    async stop() {
      app.child.kill("SIGTERM");
      await app.child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

// The body the bare app serves: one real answer of Breadboard's.
const sample = await breadboard({});
const body = sample.body;
await sample.stop();
const bare = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen: () => {} },
  new Hono().get(
    "/api/v1/stocks/:symbol",
    (c) => c.body(body, 200, { "Content-Type": "application/json" }),
  ).fetch,
);

const peer = once(async () => {
  const l = await load([`http://127.0.0.1:${bare.addr.port}/api/v1/stocks/AAPL`]);
  console.log(`bare Hono, same body (${body.length} B): ${Math.round(l.rps)} rps, p50 ${l.p50} ms, p99 ${l.p99} ms`);
  return l;
});
/** One Breadboard configuration, measured after the peer, in its own process. */
const ours = (label: string, env: Record<string, string>) =>
  once(async () => {
    const base = await peer();
    const app = await breadboard(env);
    try {
      const l = await load([app.url], [`Cookie: ${app.cookie}`]);
      console.log(
        `Breadboard /api/v1/stocks/AAPL, ${label}: ${Math.round(l.rps)} rps, p50 ${l.p50} ms, p99 ${l.p99} ms, ` +
          `failed ${l.failed}, load client CPU ${l.cpuSeconds.toFixed(1)} s ` +
          `(${(l.rps / base.rps).toFixed(2)}x the bare app)`,
      );
    } finally {
      await app.stop();
    }
  });
const guarded = ours("connection guard (default)", {});
const direct = ours("HTTP_GUARD=false (behind a proxy)", { HTTP_GUARD: "false" });
Deno.bench({ name: "bare Hono, same body", group: "quotes", baseline: true, n: 1, warmup: 0 }, async () => {
  await peer();
});
Deno.bench({ name: "Breadboard /api/v1/stocks, guarded", group: "quotes", n: 1, warmup: 0 }, async () => {
  await guarded();
});
Deno.bench({ name: "Breadboard /api/v1/stocks, HTTP_GUARD=false", group: "quotes", n: 1, warmup: 0 }, async () => {
  await direct();
});
globalThis.addEventListener("unload", () => {
  void bare.shutdown();
});
