/**
 * One process of the WebSocket load client (bench/ws_load.ts runs several, so the clients' CPU is spread and
 * reported apart from the server's): clients `from` .. `from + count - 1`, each following its 50 symbols, warm for
 * `warmMs`, then counted for `measureMs`. Prints one JSON line: connected, frames, quotes, disconnects, staleness
 * histogram (ms → count, sparse), measured seconds and this process's CPU seconds. Clients still connecting after
 * two minutes are left out of the run.
 *
 * `protocol` is `plain` (Breadboard and the bare servers: a subscribe message, then frames) or `socketio` (Engine.IO
 * v4 over a WebSocket: open packet, namespace connect, events as `42[...]`, pings answered).
 *
 * deno run --allow-net bench/ws_client.ts <url> <plain|socketio> <from> <count> <warmMs> <measureMs>
 */
import process from "node:process";
import { symbolsOf } from "./ws_load.ts";

const [url, protocol, fromArg, countArg, warmArg, measureArg] = Deno.args;
const from = Number(fromArg);
const count = Number(countArg);
const hist = new Uint32Array(60_001);
/** Time between two frames to the same client (ms → count): the cadence each client sees. */
const gaps = new Uint32Array(60_001);
const lastFrame = new Float64Array(count);
let measuring = false;
let frames = 0;
let quotes = 0;
let disconnected = 0;
const sockets: WebSocket[] = [];

function record(s: string, client: number) {
  // A frame of one tick (bare servers, Socket.IO events) or a batch of quotes: every quote's time is the tick's
  // server time, so now minus it is the age at the client of the newest value for that symbol. A quote is an object
  // with "time" or, in a Breadboard batch, a tick row [symbol, price, time, ...]. Scanned, not parsed, so this
  // process's own CPU stays small.
  if (!s.startsWith('{"type":"tick"') && !s.startsWith('{"type":"batch"') && !s.startsWith('42["tick"')) return;
  frames++;
  const now = Date.now();
  if (lastFrame[client]! > 0) gaps[Math.min(60_000, now - lastFrame[client]!)]!++;
  lastFrame[client] = now;
  const age = (t: number) => {
    quotes++;
    hist[Math.min(60_000, Math.max(0, now - t))]!++;
  };
  for (let at = s.indexOf('"time":'); at >= 0; at = s.indexOf('"time":', at + 7)) {
    age(parseInt(s.slice(at + 7, at + 21), 10));
  }
  // Rows: '["' opens one (a symbol has no comma or quote); its time follows the second comma.
  for (let at = s.indexOf('["'); at >= 0; at = s.indexOf('["', at + 2)) {
    if (s.startsWith('42["tick"', at - 2)) continue;
    const price = s.indexOf(",", at);
    const time = s.indexOf(",", price + 1);
    age(parseInt(s.slice(time + 1, time + 15), 10));
  }
}

function open(i: number): Promise<void> {
  const ws = new WebSocket(url!);
  sockets.push(ws);
  return new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error(`client ${i} failed to connect`));
    ws.onclose = () => {
      if (measuring) disconnected++;
    };
    if (protocol === "socketio") {
      ws.onmessage = (ev) => {
        const s = ev.data as string;
        if (s.startsWith("0{")) ws.send("40"); // Engine.IO open: join the default namespace
        else if (s.startsWith("40")) {
          ws.send(`42${JSON.stringify(["subscribe", symbolsOf(i)])}`);
          resolve();
        } else if (s === "2") ws.send("3"); // Engine.IO ping
        else if (measuring) record(s, i - from);
      };
    } else {
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: "subscribe", symbols: symbolsOf(i) }));
        resolve();
      };
      ws.onmessage = (ev) => {
        if (measuring) record(ev.data as string, i - from);
      };
    }
  });
}

// A server saturated by its own broadcast may take minutes to answer handshakes: after CONNECT_MS the run goes on
// with the clients that did connect (the figures say how many), so a round always ends.
const CONNECT_MS = 120_000;
const connectBy = Date.now() + CONNECT_MS;
let connected = 0;
for (let i = from; i < from + count && Date.now() < connectBy; i += 100) {
  let late: ReturnType<typeof setTimeout> | undefined;
  // A client that fails to connect is simply not counted (a refusal, or an error after the deadline).
  const batch = Array.from({ length: Math.min(100, from + count - i) }, (_, k) =>
    open(i + k).then(() => {
      connected++;
    }, () => {}));
  await Promise.race([
    Promise.all(batch),
    new Promise((r) => late = setTimeout(r, Math.max(0, connectBy - Date.now()))),
  ]);
  clearTimeout(late);
}
await new Promise((r) => setTimeout(r, Number(warmArg)));
const cpu0 = process.cpuUsage();
measuring = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, Number(measureArg)));
measuring = false;
const seconds = (performance.now() - t0) / 1000;
const cpu1 = process.cpuUsage();
for (const ws of sockets) ws.close();
await new Promise((r) => setTimeout(r, 500));
const sparse: [number, number][] = [];
hist.forEach((n, ms) => n > 0 && sparse.push([ms, n]));
const sparseGaps: [number, number][] = [];
gaps.forEach((n, ms) => n > 0 && sparseGaps.push([ms, n]));
console.log(JSON.stringify({
  connected,
  frames,
  quotes,
  disconnected,
  hist: sparse,
  gaps: sparseGaps,
  seconds,
  cpuSeconds: (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1e6,
}));
Deno.exit(0);
