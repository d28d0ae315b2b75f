/**
 * Ingest end to end in the running app (ROLE=all, embedded store): the synthetic feed offers a fixed rate over 500
 * symbols, and every tick goes feed → actors → write-ahead log → store → hub. For each offered rate the app runs in
 * its own process; after a warm-up, /metrics is read at the start and end of a window to get the rates received
 * and stored and how the write-ahead backlog moved. The ceiling is the highest rate at which the app takes every
 * offered tick and stores them as fast as it takes them (within 5%), so the backlog stays flat.
 *
 * Baseline: the offered rate itself (ratio received/offered and stored/offered).
 */
import { startApp } from "../tests/app_process.ts";

const RATES = (Deno.env.get("INGEST_RATES") ?? "50000,100000,125000,150000,200000").split(",").map(Number);
const WARMUP_S = 6;
const WINDOW_S = 12;
const SYMBOLS = Array.from({ length: 500 }, (_, i) => `S${String(i).padStart(3, "0")}`).join(",");

function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

async function sample(port: number) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return {
    at: performance.now(),
    received: metric(text, "breadboard_ticks_received_total"),
    stored: metric(text, "breadboard_ticks_stored"),
    backlog: metric(text, "breadboard_tick_backlog_bytes"),
    lag: metric(text, "breadboard_event_loop_lag_seconds"),
  };
}

async function run(rate: number) {
  const dir = await Deno.makeTempDir({ prefix: "breadboard-app-ingest-" });
  const app = await startApp({
    DATA_DIR: dir,
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    SYNTHETIC_HISTORY: "false",
    SYNTHETIC_RATE: String(rate),
    SYMBOLS,
    MAX_TRACKED_SYMBOLS: "1000",
  });
  try {
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const a = await sample(app.port);
    const live0 = performance.now();
    await (await fetch(`http://127.0.0.1:${app.port}/api/v1/health/live`)).body?.cancel();
    const liveMs = performance.now() - live0;
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    const b = await sample(app.port);
    const s = (b.at - a.at) / 1000;
    const received = (b.received - a.received) / s;
    const stored = (b.stored - a.stored) / s;
    // Flat: it took the offered rate and stored as fast as it took (the backlog did not grow by more than 5%).
    const flat = received >= rate * 0.95 && stored >= received * 0.95;
    console.log(
      `offered ${rate} ticks/s: received ${Math.round(received)} (${(received / rate).toFixed(2)}x), stored ${
        Math.round(stored)
      } (${(stored / rate).toFixed(2)}x), backlog ${(a.backlog / 1e6).toFixed(1)} → ${
        (b.backlog / 1e6).toFixed(1)
      } MB, event-loop lag ${(b.lag * 1000).toFixed(0)} ms, a liveness probe ${liveMs.toFixed(0)} ms: ${
        flat ? "flat" : "falling behind"
      }`,
    );
    return { rate, received, stored, flat };
  } finally {
    // An overloaded app drains its backlog on SIGTERM; the bench does not wait for that.
    app.child.kill("SIGKILL");
    await app.child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

let results: Awaited<ReturnType<typeof run>>[] | undefined;
const all = async () => {
  if (results) return results;
  results = [];
  for (const r of RATES) results.push(await run(r));
  const ok = results.filter((r) => r.flat).map((r) => r.rate);
  console.log(`ingest ceiling in the app: ${ok.length ? Math.max(...ok) : "below " + RATES[0]} ticks/s offered`);
  return results;
};

Deno.bench({ name: "app ingest, stepped rates", group: "app ingest", n: 1, warmup: 0 }, async () => {
  await all();
});
