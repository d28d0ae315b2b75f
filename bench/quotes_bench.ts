/**
 * `/api/v1/stocks/{symbol}` under 50 concurrent keep-alive clients (bench/http_load.ts in its own process), against a
 * bare Hono app on Deno.serve returning the same body from memory, in the same run. Breadboard runs as a child process
 * (ROLE=all, demo feed); its clients send an identity cookie, as a browser does.
 */
import { Hono } from "hono";
import { startApp } from "../tests/app_process.ts";

const SECONDS = 10;
const CLIENTS = 50;

function load(
  urls: string[],
  headers: string[] = [],
): Promise<{ rps: number; p50: number; p99: number; failed: number }> {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env=LOAD_HEADERS",
      new URL("./http_load.ts", import.meta.url).pathname,
      String(SECONDS),
      String(CLIENTS),
      ...urls,
    ],
    env: headers.length ? { LOAD_HEADERS: JSON.stringify(headers) } : {},
    stdout: "piped",
    stderr: "inherit",
  }).output().then((o) => JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").at(-1)!));
}

const dir = await Deno.makeTempDir({ prefix: "breadboard-quotes-bench-" });
const app = await startApp({
  DATA_DIR: dir,
  FEED: "synthetic",
  SYNTHETIC_ALWAYS_OPEN: "true",
  SYNTHETIC_HISTORY: "false",
  SYMBOLS: "AAPL",
  MAX_CONNECTIONS_PER_IP: "100000",
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
const bare = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen: () => {} },
  new Hono().get(
    "/api/v1/stocks/:symbol",
    (c) => c.body(body, 200, { "Content-Type": "application/json" }),
  ).fetch,
);

const once = <T>(fn: () => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => p ??= fn();
};
const peer = once(async () => {
  const l = await load([`http://127.0.0.1:${bare.addr.port}/api/v1/stocks/AAPL`]);
  console.log(`bare Hono, same body (${body.length} B): ${Math.round(l.rps)} rps, p50 ${l.p50} ms, p99 ${l.p99} ms`);
  return l;
});
const ours = once(async () => {
  const base = await peer();
  const l = await load([url], [`Cookie: ${cookie}`]);
  console.log(
    `Breadboard /api/v1/stocks/AAPL: ${Math.round(l.rps)} rps, p50 ${l.p50} ms, p99 ${l.p99} ms, failed ${l.failed} ` +
      `(${(l.rps / base.rps).toFixed(2)}x the bare app)`,
  );
});
Deno.bench({ name: "bare Hono, same body", group: "quotes", baseline: true, n: 1, warmup: 0 }, async () => {
  await peer();
});
Deno.bench({ name: "Breadboard /api/v1/stocks", group: "quotes", n: 1, warmup: 0 }, async () => {
  await ours();
});
globalThis.addEventListener("unload", () => {
  void bare.shutdown();
  app.child.kill("SIGTERM");
});
