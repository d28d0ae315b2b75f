/**
 * Reads at the seed's peak: a dashboard mix of history requests from 50 concurrent clients (a separate load process,
 * bench/http_load.ts), against a bare Hono app serving the same bodies from memory in the same run; health p99 while
 * the mix runs; and the history cache's hit rate.
 *
 * Mix over 50 symbols: 60% one session of 1m candles for one symbol, 30% one year daily, 10% five years daily.
 * Data: embedded ClickHouse with 5 years of daily and one session of minute candles per symbol.
 */
import { Hono } from "hono";
import { dailyRow, minuteRow } from "../store/rows.ts";
import { HistoryCache } from "../routes/api/history_cache.ts";
import { createApp } from "../routes/app.ts";
import { openEmbeddedStore } from "../store/embedded.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";
import { dailyBars, minuteBars } from "../tests/fake_chart.ts";
import { type HttpLoad, httpLoad, once } from "./harness.ts";

const DAY = 86_400_000;
const SECONDS = 10;
const CLIENTS = 50;
const SYMBOLS = Array.from({ length: 50 }, (_, i) => `R${String(i).padStart(2, "0")}`);
const dir = await Deno.makeTempDir({ prefix: "breadboard-reads-bench-" });
const store = await openEmbeddedStore({ path: dir, database: "bench" });
await migrate(store, await loadMigrations());
const now = Date.now();
const fiveYears = now - 5 * 365.25 * DAY;
let sessionFrom = 0;
let sessionTo = 0;
for (const s of SYMBOLS) {
  await store.insert("candles_1d", dailyBars(s, fiveYears, now).map((c) => dailyRow(s, c, "yahoo", 1)));
  const minutes = minuteBars(s, now - 3 * DAY, now);
  // The last full session: the last 390 minutes stored.
  const session = minutes.slice(-390);
  sessionFrom = session[0]!.time;
  sessionTo = session.at(-1)!.time + 60_000;
  await store.insert("candles_1m", session.map((c) => minuteRow(s, c, "yahoo", 1)));
}

const kv = await Deno.openKv(":memory:");
const cache = new HistoryCache();
const app = createApp({
  store,
  kv,
  feed: () => ({ state: "live", lastTickAt: null }),
  market: { stock: () => Promise.resolve(undefined), openCandle: () => undefined, cache },
});
const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
const base = `http://127.0.0.1:${server.addr.port}`;

/** 100 URLs in the mix's proportions, symbols spread over all 50. */
const paths: string[] = [];
for (let i = 0; i < 100; i++) {
  const s = SYMBOLS[(i * 7) % SYMBOLS.length]!;
  if (i % 10 < 6) paths.push(`/api/v1/history?symbol=${s}&from=${sessionFrom}&to=${sessionTo}&interval=1m`);
  else if (i % 10 < 9) paths.push(`/api/v1/history?symbol=${s}&from=${now - 365 * DAY}&to=${now}&interval=1d`);
  else paths.push(`/api/v1/history?symbol=${s}&from=${fiveYears}&to=${now}&interval=1d`);
}

// The peer: the same bodies, from memory, through a bare Hono app in this process. They are read through an app
// without the cache, so Breadboard's cache starts cold in the measured run.
const cold = createApp({
  store,
  kv,
  feed: () => ({ state: "live", lastTickAt: null }),
  market: { stock: () => Promise.resolve(undefined), openCandle: () => undefined },
});
const bodies = new Map<string, string>();
for (const p of paths) {
  const res = await cold.fetch(new Request(base + p));
  if (res.status !== 200) throw new Error(`${p}: ${res.status}`);
  bodies.set(p, await res.text());
}
const bare = new Hono().get("/api/v1/history", (c) => {
  const body = bodies.get(new URL(c.req.url).pathname + new URL(c.req.url).search);
  return body === undefined ? c.notFound() : c.body(body, 200, { "Content-Type": "application/json" });
});
const bareServer = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, bare.fetch);
const bareBase = `http://127.0.0.1:${bareServer.addr.port}`;

const load = httpLoad;

const show = (label: string, l: HttpLoad) =>
  console.log(
    `${label.padEnd(34)} ${Math.round(l.rps)} rps, p50 ${l.p50} ms, p99 ${l.p99} ms, failed ${l.failed}, ` +
      `load client CPU ${l.cpuSeconds.toFixed(1)} s`,
  );

const peer = once(async () => {
  const l = await load(SECONDS, CLIENTS, paths.map((p) => bareBase + p));
  show("same bodies from memory (bare Hono)", l);
  return l;
});
// A browser's identity cookie, sent with every history request as the dashboard's own fetches do.
const first = await fetch(`${base}/api/v1/history?symbol=${SYMBOLS[0]}&from=${sessionFrom}&to=${sessionTo}`);
await first.body?.cancel();
const cookie = [`Cookie: ${first.headers.get("set-cookie")!.split(";")[0]}`];
const ours = once(async () => {
  const base0 = await peer();
  const before = cache.stats();
  const [l, health] = await Promise.all([
    load(SECONDS, CLIENTS, paths.map((p) => base + p), { headers: cookie }),
    load(SECONDS, 2, [`${base}/api/v1/health`]),
  ]);
  const after = cache.stats();
  show("Breadboard /api/v1/history mix", l);
  show("  /api/v1/health meanwhile", health);
  const asked = after.hits + after.misses + after.shared - (before.hits + before.misses + before.shared);
  console.log(
    `  ratio to the bare app: ${(l.rps / base0.rps).toFixed(2)}x rps; cache hit rate ${
      ((after.hits + after.shared - before.hits - before.shared) / Math.max(1, asked) * 100).toFixed(1)
    }% of ${asked} requests (the first of each distinct range queries the store)`,
  );
  return l;
});

/** The seed's peak: the same mix held at 600 requests/s by 50 clients, health probed alongside. */
const peak = once(async () => {
  await ours();
  const [l, health] = await Promise.all([
    load(SECONDS, CLIENTS, paths.map((p) => base + p), { rate: 600, headers: cookie }),
    load(SECONDS, 2, [`${base}/api/v1/health`, `${base}/api/v1/health/live`], { rate: 100 }),
  ]);
  show("history mix held at 600 rps", l);
  show("  /api/v1/health + /live at 100 rps", health);
});

Deno.bench(
  { name: "same bodies from memory (bare Hono)", group: "history mix", baseline: true, n: 1, warmup: 0 },
  async () => {
    await peer();
  },
);
Deno.bench({ name: "Breadboard history mix, 50 clients", group: "history mix", n: 1, warmup: 0 }, async () => {
  await ours();
});
Deno.bench({ name: "Breadboard history mix at 600 rps", group: "history mix", n: 1, warmup: 0 }, async () => {
  await peak();
});

globalThis.addEventListener("unload", () => {
  void server.shutdown();
  void bareServer.shutdown();
  kv.close();
  void store.close().finally(() => Deno.removeSync(dir, { recursive: true }));
});
