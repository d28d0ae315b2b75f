/**
 * WebSocket fan-out under load, side by side: N clients (several load processes, bench/ws_client.ts), each
 * subscribed to 50 of 500 symbols, while ticks flow at 2,500/s, against four servers fed the same synthetic stream:
 *
 * - Breadboard `/ws/realtime` (a real child process, FEED=synthetic; at most one batch per client per 50 ms), as
 *   compose and k8s run it behind their proxy (HTTP_GUARD=false), and again with its own connection guard relaying
 *   every byte (the default of a bare `deno task start`);
 * - a bare Deno WebSocket broadcast loop (bench/ws_bare_server.ts; one frame per tick);
 * - Socket.IO 4 on Node, rooms per symbol, volatile emits (bench/peers/socketio_server.mjs);
 * - the `ws` package on Node, a socket set per symbol (bench/peers/ws_server.mjs).
 *
 * Rounds are interleaved (each round runs every server once), and each server's median and spread over the rounds
 * are printed: staleness p50/p99 (the age at the client of each value it receives: receive time minus the tick's
 * server time, one clock), the time between two frames to one client (its 99th percentile), frames per client per
 * second, quotes delivered per second against those offered (every tick to every subscriber), slow-client
 * disconnects, and the load client processes' CPU (near 1.0 per process means the run was client-bound). For
 * Breadboard also: API p99 during the load, server CPU per delivered quote, and RSS before (after a 45 s warm-up),
 * during and a minute after the clients leave (first round at N=1,000).
 *
 * WS_BENCH_N (default "1000,5000"), WS_BENCH_ROUNDS (default 3), WS_CLIENT_PROCS (default 2), WS_BENCH_SERVERS
 * (name prefixes, comma-separated; default all), WS_FLUSH_MS (passed to Breadboard; default its own, 50 ms).
 */
import { startApp } from "../tests/app_process.ts";

import { httpLoad, once } from "./harness.ts";
import { type Figures, load, LOAD_LIMITS, RATE, show, SYMBOLS } from "./ws_load.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** Runs a peer server (it prints its port first) for one load run. */
async function peer(cmd: string, args: string[], n: number, protocol: "plain" | "socketio", path = "/") {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = Number((await reader.read()).value!.trim());
  try {
    const url = protocol === "socketio"
      ? `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`
      : `ws://127.0.0.1:${port}${path}`;
    return await load(url, n, protocol);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  }
}

const PEERS: Record<string, (n: number) => Promise<Figures>> = {
  "bare Deno broadcast": (n) =>
    peer(
      Deno.execPath(),
      [
        "run",
        "--allow-net",
        new URL("./ws_bare_server.ts", import.meta.url).pathname,
        String(RATE),
        SYMBOLS.join(","),
      ],
      n,
      "plain",
    ),
  "Socket.IO 4 (Node)": (n) =>
    peer(
      "node",
      [new URL("./peers/socketio_server.mjs", import.meta.url).pathname, String(RATE), SYMBOLS.join(",")],
      n,
      "socketio",
    ),
  "ws (Node)": (n) =>
    peer(
      "node",
      [new URL("./peers/ws_server.mjs", import.meta.url).pathname, String(RATE), SYMBOLS.join(",")],
      n,
      "plain",
    ),
};

/** Median of `count` samples of `f`, `gapMs` apart: one RSS reading swings with the garbage collector. */
async function sampled(f: () => Promise<number>, count = 5, gapMs = 2_000): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    xs.push(await f());
  }
  return median(xs);
}

async function app(n: number, guard: boolean, measureRss: boolean): Promise<Figures> {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-wsbench-" });
  const running = await startApp({
    DATA_DIR: dataDir,
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    SYNTHETIC_RATE: String(RATE),
    SYMBOLS: SYMBOLS.join(","),
    ...LOAD_LIMITS,
    // false: as compose and k8s run it, behind their proxy; true: the connection guard relays every byte.
    HTTP_GUARD: String(guard),
    ...(Deno.env.get("WS_FLUSH_MS") ? { WS_FLUSH_MS: Deno.env.get("WS_FLUSH_MS")! } : {}),
  });
  const base = `http://127.0.0.1:${running.port}`;
  const metric = async (name: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? NaN);
  };
  const rss = async () => await metric("process_resident_memory_bytes") / 2 ** 20;
  try {
    // Let the synthetic feed take its leases and start ticking every symbol. Before a memory reading, let the
    // process (and the store it embeds, taking 2,500 ticks/s) grow to its working size first, or the reading after
    // the clients leave would count the store's warm-up as memory the fan-out kept.
    await new Promise((r) => setTimeout(r, measureRss ? 45_000 : 3_000));
    const before = measureRss ? await sampled(rss) : NaN;
    const cpu0 = await metric("process_cpu_seconds_total");
    // While the clients load it, two more connections time health and a quote from their own process.
    const api = httpLoad(12, 2, [`${base}/api/v1/health`, `${base}/api/v1/stocks/${SYMBOLS[0]}`]);
    let during = NaN;
    const sampler = new Promise((r) => setTimeout(r, 8_000)).then(async () => (during = await rss()));
    const f = await load(`ws://127.0.0.1:${running.port}/ws/realtime`, n);
    await sampler;
    const cpu1 = await metric("process_cpu_seconds_total");
    const apiLoad = await api;
    console.log(
      `  API during the load (N=${n}, guard ${guard}): ${Math.round(apiLoad.rps)} rps, p50 ${apiLoad.p50} ms, ` +
        `p99 ${apiLoad.p99} ms; server CPU per delivered quote ≈ ${
          ((cpu1 - cpu0) / (f.quotesPerSecond * 12) * 1e6).toFixed(2)
        } µs`,
    );
    if (measureRss) {
      // Memory a minute after every client left, against before the load (each a median of 5 readings over 8 s).
      await new Promise((r) => setTimeout(r, 60_000));
      const after = await sampled(rss);
      console.log(
        `  RSS (guard ${guard}) before ${before.toFixed(0)} MB, during ${during.toFixed(0)} MB, a minute after ` +
          `${after.toFixed(0)} MB (${((after / before - 1) * 100).toFixed(1)}% against before)`,
      );
    }
    return f;
  } finally {
    running.child.kill("SIGTERM");
    await running.finished;
    await Deno.remove(dataDir, { recursive: true });
  }
}

const BEHIND_PROXY = "Breadboard /ws/realtime";
const GUARDED = "Breadboard, connection guard on";
const NS = (Deno.env.get("WS_BENCH_N") ?? "1000,5000").split(",").map(Number);
const ROUNDS = Number(Deno.env.get("WS_BENCH_ROUNDS") ?? 3);
const spread = (xs: number[], digits = 0) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

for (const n of NS) {
  const all = once(async () => {
    const runs = new Map<string, Figures[]>();
    const only = Deno.env.get("WS_BENCH_SERVERS")?.split(",");
    const servers = [BEHIND_PROXY, GUARDED, ...Object.keys(PEERS)].filter((s) =>
      !only || only.some((o) => s.startsWith(o))
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of servers) {
        const f = name.startsWith("Breadboard")
          ? await app(n, name === GUARDED, round === 0 && n <= 1_000)
          : await PEERS[name]!(n);
        show(`${name} r${round + 1}`, f);
        runs.set(name, [...(runs.get(name) ?? []), f]);
      }
    }
    const offered = RATE * (n * 50 / SYMBOLS.length);
    console.log(
      `\nN=${n}, ${ROUNDS} rounds, median (min-max); offered ${offered} quotes/s (every tick to every subscriber)`,
    );
    console.log(
      "| server | delivered / offered | p50 ms | p99 ms | frame gap p99 ms | frames/client/s | disconnects | load client CPU (cores) |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const name of servers) {
      const fs = runs.get(name)!;
      console.log(
        `| ${name} | ${spread(fs.map((f) => f.quotesPerSecond / offered), 2)} | ${spread(fs.map((f) => f.p50))} | ${
          spread(fs.map((f) => f.p99))
        } | ${spread(fs.map((f) => f.gapP99))} | ${
          spread(fs.map((f) => f.framesPerSecond / Math.max(1, f.connected)), 1)
        } | ${spread(fs.map((f) => f.disconnected))} | ${
          spread(fs.map((f) => f.clientCpu.reduce((a, b) => a + b, 0)), 2)
        } |`,
      );
    }
    const ours = median(runs.get(servers[0]!)!.map((f) => f.p99));
    for (const name of servers.slice(1)) {
      const theirs = median(runs.get(name)!.map((f) => f.p99));
      console.log(`  p99 staleness, ${name} / Breadboard: ${(theirs / Math.max(1, ours)).toFixed(2)}x`);
    }
  });
  Deno.bench({ name: `fan-out side by side, ${n} clients`, group: `ws ${n}`, n: 1, warmup: 0 }, async () => {
    await all();
  });
}
