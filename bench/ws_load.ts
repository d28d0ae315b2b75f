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
  framesPerSecond: number;
  /** Quotes carried per second (equal to frames for a server that sends one tick per frame). */
  quotesPerSecond: number;
  disconnected: number;
}

/** The 50 symbols of client `i`: spread so every symbol has about the same number of subscribers. */
export const symbolsOf = (i: number) =>
  Array.from({ length: PER_CLIENT }, (_, k) => SYMBOLS[(i + k * 10) % SYMBOLS.length]!);

export async function load(url: string, n: number): Promise<Figures> {
  const hist = new Uint32Array(60_001);
  let measuring = false;
  let frames = 0;
  let quotes = 0;
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
      // A frame of one tick (a bare server) or a batch of quotes: every quote's "time" is the tick's server time, so
      // now minus it is the age at the client of the newest value for that symbol (staleness). Scanned, not parsed,
      // so the load client's own CPU stays small.
      if (!s.startsWith('{"type":"tick"') && !s.startsWith('{"type":"batch"')) return;
      frames++;
      const now = Date.now();
      for (let at = s.indexOf('"time":'); at >= 0; at = s.indexOf('"time":', at + 7)) {
        const t = parseInt(s.slice(at + 7, at + 21), 10);
        quotes++;
        hist[Math.min(60_000, Math.max(0, now - t))]!++;
      }
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
    for (let ms = 0; ms < hist.length; ms++) if ((seen += hist[ms]!) >= quotes * p) return ms;
    return Infinity;
  };
  return {
    clients: n,
    connected,
    p50: pct(0.5),
    p99: pct(0.99),
    framesPerSecond: frames / seconds,
    quotesPerSecond: quotes / seconds,
    disconnected,
  };
}

export const show = (label: string, f: Figures) =>
  console.log(
    `${label.padEnd(26)} N=${String(f.clients).padStart(5)} connected=${f.connected} p50=${f.p50} ms p99=${f.p99} ms ` +
      `frames=${Math.round(f.framesPerSecond)}/s (${
        (f.framesPerSecond / Math.max(1, f.connected)).toFixed(1)
      }/s per client) ` +
      `quotes=${Math.round(f.quotesPerSecond)}/s disconnected=${f.disconnected}`,
  );

// Each load run takes about 20 s, so it runs once: deno bench repeats a bench function a few times however small
// `n` is, and later calls reuse the first call's figures. Its time column is the run time, not a figure of merit.
export const once = <T>(fn: () => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => p ??= fn();
};
