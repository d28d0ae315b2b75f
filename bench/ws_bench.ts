/**
 * WebSocket fan-out under load: N clients, each subscribed to 50 of 500 symbols, while ticks flow at 2,500/s.
 *
 * The app runs as a real child process with FEED=synthetic; the baseline is a bare Deno WebSocket broadcast loop
 * (bench/ws_bare_server.ts) at the same rate over the same symbols, measured in the same run with the same clients.
 * For each server and N = 1,000 and 5,000 it prints tick-to-client latency (p50, p99: receive time minus the tick's
 * time; both processes read the same clock) and frames delivered per second over a 10 s window.
 */
import { startApp } from "../tests/app_process.ts";

const SYMBOLS = Array.from({ length: 500 }, (_, i) => `S${String(i).padStart(3, "0")}`);
const RATE = 2500;
const PER_CLIENT = 50;
const MEASURE_MS = 10_000;
const WARM_MS = 2_000;

interface Figures {
  clients: number;
  connected: number;
  p50: number;
  p99: number;
  framesPerSecond: number;
  disconnected: number;
}

/** The 50 symbols of client `i`: spread so every symbol has about the same number of subscribers. */
const symbolsOf = (i: number) => Array.from({ length: PER_CLIENT }, (_, k) => SYMBOLS[(i + k * 10) % SYMBOLS.length]!);

async function load(url: string, n: number): Promise<Figures> {
  const hist = new Uint32Array(60_001);
  let measuring = false;
  let frames = 0;
  let disconnected = 0;
  const sockets: WebSocket[] = [];
  const open = async (i: number) => {
    const ws = new WebSocket(url);
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: "subscribe", symbols: symbolsOf(i) }));
        resolve();
      };
      ws.onerror = () => reject(new Error(`client ${i} failed to connect`));
    });
    ws.onmessage = (ev) => {
      if (!measuring) return;
      const s = ev.data as string;
      const at = s.indexOf('"time":');
      if (at < 0 || !s.startsWith('{"type":"tick"')) return;
      const t = parseInt(s.slice(at + 7, at + 21), 10);
      frames++;
      hist[Math.min(60_000, Math.max(0, Date.now() - t))]!++;
    };
    ws.onclose = () => {
      if (measuring) disconnected++;
    };
  };
  let connected = 0;
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(100, n - i) }, (_, k) => open(i + k)));
    connected += batch.filter((r) => r.status === "fulfilled").length;
  }
  await new Promise((r) => setTimeout(r, WARM_MS));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  for (const ws of sockets) ws.close();
  await new Promise((r) => setTimeout(r, 500));
  const pct = (p: number) => {
    let seen = 0;
    for (let ms = 0; ms < hist.length; ms++) if ((seen += hist[ms]!) >= frames * p) return ms;
    return Infinity;
  };
  return { clients: n, connected, p50: pct(0.5), p99: pct(0.99), framesPerSecond: frames / seconds, disconnected };
}

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
    SYNTHETIC_RATE: String(RATE),
    SYMBOLS: SYMBOLS.join(","),
  });
  try {
    // Let the synthetic feed take its leases and start ticking every symbol.
    await new Promise((r) => setTimeout(r, 3_000));
    return await load(`ws://127.0.0.1:${running.port}/ws/realtime`, n);
  } finally {
    running.child.kill("SIGTERM");
    await running.finished;
    await Deno.remove(dataDir, { recursive: true });
  }
}

const show = (label: string, f: Figures) =>
  console.log(
    `${label.padEnd(26)} N=${String(f.clients).padStart(5)} connected=${f.connected} p50=${f.p50} ms p99=${f.p99} ms ` +
      `delivered=${Math.round(f.framesPerSecond)} frames/s disconnected=${f.disconnected}`,
  );

// Each load run takes about 20 s, so it runs once: deno bench repeats a bench function a few times however small
// `n` is, and later calls reuse the first call's figures. Its time column is the run time, not a figure of merit.
const once = <T>(fn: () => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => p ??= fn();
};
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
      `  ratio vs bare at N=${n}: delivery ${(f.framesPerSecond / base.framesPerSecond).toFixed(2)}x, ` +
        `p50 ${f.p50} ms vs ${base.p50} ms, p99 ${f.p99} ms vs ${base.p99} ms`,
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
