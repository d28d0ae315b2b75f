/**
 * The cost of the bus: tick-to-client latency with the NATS hop in the path against the in-memory broker, in the
 * same run, at 2,500 ticks/s over 500 symbols (FEED=synthetic), 50 symbols per client.
 *
 * - baseline: one ROLE=all process (in-memory broker), N=500 clients;
 * - the hop alone: the same ROLE=all process with NATS_URL set, so every quote goes to nats-server and back;
 * - split: a ROLE=ingest process and a ROLE=web process joined by a real nats-server, the same N=500 clients on the
 *   web instance (the hop plus a second core's worth of work split off);
 * - capacity: the web instance under N = 250, 1,000, 2,000 and 4,000 clients, to find how many it holds at
 *   p99 < 100 ms.
 */
import { startApp } from "../tests/app_process.ts";
import { startNatsServer } from "../tests/nats_server.ts";
import { once } from "./harness.ts";
import { type Figures, load, LOAD_LIMITS, RATE, show, SYMBOLS } from "./ws_load.ts";

const N = 500;
const feed = {
  FEED: "synthetic",
  SYNTHETIC_ALWAYS_OPEN: "true",
  SYNTHETIC_RATE: String(RATE),
  SYMBOLS: SYMBOLS.join(","),
  ...LOAD_LIMITS,
};
const settle = () => new Promise((r) => setTimeout(r, 3_000));

/** One ROLE=all process: on the in-memory broker, or with every quote and alert taking the NATS round trip. */
async function single(n: number, nats = false): Promise<Figures> {
  const server = nats ? await startNatsServer() : undefined;
  const dir = await Deno.makeTempDir({ prefix: "breadboard-scale-bench-" });
  const app = await startApp({ ...feed, DATA_DIR: dir, ...(server ? { NATS_URL: server.url } : {}) });
  try {
    await settle();
    return await load(`ws://127.0.0.1:${app.port}/ws/realtime`, n);
  } finally {
    app.child.kill("SIGTERM");
    await app.finished;
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function viaNats(ns: readonly number[]): Promise<Figures[]> {
  const nats = await startNatsServer();
  const dir = await Deno.makeTempDir({ prefix: "breadboard-scale-bench-" });
  const ingest = await startApp({ ...feed, ROLE: "ingest", NATS_URL: nats.url, DATA_DIR: dir });
  // The web role names the same feed so it reads the same (demo) namespace on the bus.
  const web = await startApp({ ...feed, ROLE: "web", NATS_URL: nats.url, KV_PATH: `${dir}/kv.sqlite3` });
  try {
    await settle();
    const out: Figures[] = [];
    for (const n of ns) out.push(await load(`ws://127.0.0.1:${web.port}/ws/realtime`, n));
    return out;
  } finally {
    for (const p of [web, ingest]) {
      p.child.kill("SIGTERM");
      await p.finished;
    }
    await nats.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const CAPACITY = [250, 1_000, 2_000, 4_000];
const baseline = once(async () => {
  const f = await single(N);
  show("in-memory broker (all)", f);
  return f;
});
const hop = once(async () => {
  const base = await baseline();
  // The hop alone: the same single process, its quotes going out to NATS and back.
  const same = await single(N, true);
  show("NATS hop, same process (all)", same);
  const [f, ...capacity] = await viaNats([N, ...CAPACITY]);
  show("NATS hop (ingest → web)", f!);
  const diff = (a: Figures, label: string) =>
    console.log(
      `  ${label} at N=${N}: p50 ${a.p50 - base.p50 >= 0 ? "+" : ""}${
        a.p50 - base.p50
      } ms (${a.p50} vs ${base.p50}), ` +
        `p99 ${a.p99 - base.p99 >= 0 ? "+" : ""}${a.p99 - base.p99} ms (${a.p99} vs ${base.p99})`,
    );
  diff(same, "added by the NATS hop in one process");
  diff(f!, "ingest and web split over NATS (two processes, two cores)");
  for (const c of capacity) show("web instance capacity", c);
  const held = capacity.filter((c) => c.p99 < 100 && c.disconnected === 0).map((c) => c.clients);
  console.log(`  clients one web instance holds at p99 < 100 ms: ${held.length ? Math.max(...held) : "< 250"}`);
  return f!;
});

Deno.bench({ name: "in-memory broker, 500 clients", group: "bus", baseline: true, n: 1, warmup: 0 }, async () => {
  await baseline();
});
Deno.bench({ name: "NATS hop, 500 clients (+ capacity steps)", group: "bus", n: 1, warmup: 0 }, async () => {
  await hop();
});
