/**
 * WebSocket fan-out under load: N clients, each subscribed to 50 of 500 symbols, while ticks flow at 2,500/s.
 *
 * The app runs as a real child process with FEED=synthetic; the baseline is a bare Deno WebSocket broadcast loop
 * (bench/ws_bare_server.ts) at the same rate over the same symbols, measured in the same run with the same clients.
 * For each server and N = 1,000 and 5,000 it prints staleness (p50, p99: the age at the client of each value it
 * receives, receive time minus the tick's time; both processes read the same clock), frames per second per client,
 * quotes carried per second and slow-client disconnects over a 10 s window. Breadboard sends one batch per client per
 * flush (50 ms); the bare loop one frame per tick.
 */
import { startApp } from "../tests/app_process.ts";

import { type Figures, load, LOAD_LIMITS, once, RATE, show, SYMBOLS } from "./ws_load.ts";

async function bare(n: number): Promise<Figures> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("./ws_bare_server.ts", import.meta.url).pathname,
      String(RATE),
      SYMBOLS.join(","),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = Number((await reader.read()).value!.trim());
  try {
    return await load(`ws://127.0.0.1:${port}/`, n);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  }
}

async function app(n: number): Promise<Figures> {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-wsbench-" });
  const running = await startApp({
    DATA_DIR: dataDir,
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    SYNTHETIC_RATE: String(RATE),
    SYMBOLS: SYMBOLS.join(","),
    ...LOAD_LIMITS,
  });
  const base = `http://127.0.0.1:${running.port}`;
  const rss = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
  };
  const cpu = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(/^process_cpu_seconds_total (\S+)/m.exec(text)?.[1] ?? NaN);
  };
  try {
    // Let the synthetic feed take its leases and start ticking every symbol.
    await new Promise((r) => setTimeout(r, 3_000));
    const before = await rss();
    const cpu0 = await cpu();
    // While the clients load it, two more connections time health and a quote from their own process.
    const api = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        new URL("./http_load.ts", import.meta.url).pathname,
        "12",
        "2",
        `${base}/api/v1/health`,
        `${base}/api/v1/stocks/${SYMBOLS[0]}`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    let during = NaN;
    const sampler = new Promise((r) => setTimeout(r, 8_000)).then(async () => (during = await rss()));
    const f = await load(`ws://127.0.0.1:${running.port}/ws/realtime`, n);
    await sampler;
    const cpu1 = await cpu();
    const apiLoad = JSON.parse(new TextDecoder().decode((await api).stdout).trim());
    console.log(
      `  API during the load (N=${n}): ${Math.round(apiLoad.rps)} rps, p50 ${apiLoad.p50} ms, p99 ${apiLoad.p99} ms; ` +
        `server CPU per delivered quote ≈ ${((cpu1 - cpu0) / (f.quotesPerSecond * 12) * 1e6).toFixed(2)} µs`,
    );
    if (n <= 1_000) {
      // Memory a minute after every client left, against before the load.
      await new Promise((r) => setTimeout(r, 60_000));
      const after = await rss();
      console.log(
        `  RSS before ${before.toFixed(0)} MB, during ${during.toFixed(0)} MB, a minute after ${after.toFixed(0)} MB ` +
          `(${((after / before - 1) * 100).toFixed(1)}% above before)`,
      );
    }
    return f;
  } finally {
    running.child.kill("SIGTERM");
    await running.finished;
    await Deno.remove(dataDir, { recursive: true });
  }
}

for (const n of [1_000, 5_000]) {
  const baseline = once(async () => {
    const f = await bare(n);
    show("bare broadcast loop", f);
    return f;
  });
  const ours = once(async () => {
    const base = await baseline();
    const f = await app(n);
    show("breadboard /ws/realtime", f);
    console.log(
      `  vs bare at N=${n}: staleness p50 ${f.p50} ms vs ${base.p50} ms, p99 ${f.p99} ms vs ${base.p99} ms ` +
        `(${(base.p99 / Math.max(1, f.p99)).toFixed(2)}x better at p99); frames per client ` +
        `${(f.framesPerSecond / Math.max(1, f.connected)).toFixed(1)}/s vs ${
          (base.framesPerSecond / Math.max(1, base.connected)).toFixed(1)
        }/s; disconnects ${f.disconnected} vs ${base.disconnected}`,
    );
    return f;
  });
  Deno.bench(
    { name: `bare Deno broadcast loop, ${n} clients`, group: `ws ${n}`, baseline: true, n: 1, warmup: 0 },
    async () => {
      await baseline();
    },
  );
  Deno.bench({ name: `Breadboard /ws/realtime, ${n} clients`, group: `ws ${n}`, n: 1, warmup: 0 }, async () => {
    await ours();
  });
}
