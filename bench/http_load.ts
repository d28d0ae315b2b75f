/**
 * A closed-loop HTTP load client, run as its own process so its CPU is not the server's: `connections` loops, each
 * requesting URLs from the list in turn (offset per loop) for `seconds`, with keep-alive. Prints one JSON line:
 * requests, rps, p50/p99 ms, non-2xx count, and this process's own CPU seconds.
 *
 * With LOAD_RATE (requests per second in all) each loop keeps to its share of the rate instead of going flat out,
 * and a request's latency counts from when it was due, so a server that falls behind is charged for the wait.
 *
 * deno run --allow-net [--allow-env] bench/http_load.ts <seconds> <connections> <url> [url...]
 */
import process from "node:process";

const [secondsArg, connArg, ...urls] = Deno.args;
const seconds = Number(secondsArg);
const connections = Number(connArg);
if (!(seconds > 0) || !(connections > 0) || urls.length === 0) {
  console.error("usage: http_load.ts <seconds> <connections> <url> [url...]");
  Deno.exit(2);
}
// Optional request headers, as JSON ["Name: value", ...] in LOAD_HEADERS (an identity cookie, for instance).
const allowed = Deno.permissions.querySync({ name: "env", variable: "LOAD_HEADERS" }).state === "granted";
const headers: [string, string][] = (JSON.parse((allowed && Deno.env.get("LOAD_HEADERS")) || "[]") as string[])
  .map((h) => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1).trim()]);
const rateAllowed = Deno.permissions.querySync({ name: "env", variable: "LOAD_RATE" }).state === "granted";
const rate = Number((rateAllowed && Deno.env.get("LOAD_RATE")) || 0);
/** Milliseconds between one loop's requests under LOAD_RATE; 0 flat out. */
const spacing = rate > 0 ? connections * 1000 / rate : 0;
const hist = new Uint32Array(100_001); // 0.1 ms buckets up to 10 s
let requests = 0;
let failed = 0;
const cpu0 = process.cpuUsage();
const deadline = performance.now() + seconds * 1000;
async function loop(offset: number) {
  // Loops start spread over one spacing so the rate is even, not in bursts.
  let due = performance.now() + (spacing * offset / 7) / connections;
  for (let i = offset; performance.now() < deadline; i++) {
    const url = urls[i % urls.length]!;
    if (spacing > 0) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const t = spacing > 0 ? due : performance.now();
    due += spacing;
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status >= 300 && res.status !== 304) failed++;
    } catch {
      failed++;
    }
    hist[Math.max(0, Math.min(100_000, Math.round((performance.now() - t) * 10)))]!++;
    requests++;
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: connections }, (_, k) => loop(k * 7)));
const elapsed = (performance.now() - started) / 1000;
const pct = (p: number) => {
  let seen = 0;
  for (let b = 0; b < hist.length; b++) if ((seen += hist[b]!) >= requests * p) return b / 10;
  return Infinity;
};
const cpu1 = process.cpuUsage();
const cpuSeconds = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1e6;
console.log(JSON.stringify({ requests, rps: requests / elapsed, p50: pct(0.5), p99: pct(0.99), failed, cpuSeconds }));
