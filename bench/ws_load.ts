/** The WebSocket load client the fan-out benchmarks share: N clients, each following 50 of 500 symbols. */

/** Every load client connects from 127.0.0.1: the per-address caps that protect a server are lifted for the run. */
export const LOAD_LIMITS = {
  WS_MAX_CLIENTS: "100000",
  WS_MAX_CLIENTS_PER_IP: "100000",
  MAX_CONNECTIONS_PER_IP: "100000",
  // 500 symbols of generated demo history would only slow the start.
  SYNTHETIC_HISTORY: "false",
};

export const SYMBOLS = Array.from({ length: 500 }, (_, i) => `S${String(i).padStart(3, "0")}`);
export const RATE = 2500;
const PER_CLIENT = 50;
const MEASURE_MS = 10_000;
const WARM_MS = 2_000;

export interface Figures {
  clients: number;
  connected: number;
  p50: number;
  p99: number;
  /** Time between two frames to the same client, median and 99th percentile (ms). */
  gapP50: number;
  gapP99: number;
  framesPerSecond: number;
  /** Quotes carried per second (equal to frames for a server that sends one tick per frame). */
  quotesPerSecond: number;
  disconnected: number;
  /** CPU of each load client process over the window, in cores (1.0: one core busy throughout). */
  clientCpu: number[];
}

/** The 50 symbols of client `i`: spread so every symbol has about the same number of subscribers. */
export const symbolsOf = (i: number) =>
  Array.from({ length: PER_CLIENT }, (_, k) => SYMBOLS[(i + k * 10) % SYMBOLS.length]!);

/** Load client processes per run (WS_CLIENT_PROCS, default 2: one per core of the machine the figures are for). */
const PROCS = Number(Deno.env.get("WS_CLIENT_PROCS") ?? 2);

/**
 * Runs N clients on `url`, split over {@link PROCS} processes of bench/ws_client.ts, and merges their figures.
 * `protocol` is `plain` or `socketio` (Engine.IO v4 framing).
 */
export async function load(url: string, n: number, protocol: "plain" | "socketio" = "plain"): Promise<Figures> {
  const share = Math.ceil(n / PROCS);
  const runs = await Promise.all(
    Array.from({ length: PROCS }, (_, k) => {
      const from = k * share;
      const count = Math.max(0, Math.min(share, n - from));
      return new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-env",
          new URL("./ws_client.ts", import.meta.url).pathname,
          url,
          protocol,
          String(from),
          String(count),
          String(WARM_MS),
          String(MEASURE_MS),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output().then((o) =>
        JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").at(-1)!) as {
          connected: number;
          frames: number;
          quotes: number;
          disconnected: number;
          hist: [number, number][];
          gaps: [number, number][];
          seconds: number;
          cpuSeconds: number;
        }
      );
    }),
  );
  const hist = new Uint32Array(60_001);
  for (const r of runs) for (const [ms, c] of r.hist) hist[ms]! += c;
  const quotes = runs.reduce((a, r) => a + r.quotes, 0);
  const seconds = Math.max(...runs.map((r) => r.seconds));
  const gaps = new Uint32Array(60_001);
  for (const r of runs) for (const [ms, c] of r.gaps) gaps[ms]! += c;
  const pct = (p: number, h = hist, total = quotes) => {
    let seen = 0;
    for (let ms = 0; ms < h.length; ms++) if ((seen += h[ms]!) >= total * p) return ms;
    return Infinity;
  };
  const gapCount = gaps.reduce((a, b) => a + b, 0);
  return {
    clients: n,
    connected: runs.reduce((a, r) => a + r.connected, 0),
    p50: pct(0.5),
    p99: pct(0.99),
    gapP50: pct(0.5, gaps, gapCount),
    gapP99: pct(0.99, gaps, gapCount),
    framesPerSecond: runs.reduce((a, r) => a + r.frames, 0) / seconds,
    quotesPerSecond: quotes / seconds,
    disconnected: runs.reduce((a, r) => a + r.disconnected, 0),
    clientCpu: runs.map((r) => r.cpuSeconds / r.seconds),
  };
}

export const show = (label: string, f: Figures) =>
  console.log(
    `${label.padEnd(26)} N=${String(f.clients).padStart(5)} connected=${f.connected} p50=${f.p50} ms p99=${f.p99} ms ` +
      `frame gap p50=${f.gapP50} ms p99=${f.gapP99} ms ` +
      `frames=${Math.round(f.framesPerSecond)}/s (${
        (f.framesPerSecond / Math.max(1, f.connected)).toFixed(1)
      }/s per client) ` +
      `quotes=${Math.round(f.quotesPerSecond)}/s disconnected=${f.disconnected} ` +
      `load client CPU ${f.clientCpu.map((c) => c.toFixed(2)).join("+")} cores`,
  );
