/**
 * The baseline of the WebSocket load benchmark: a bare Deno WebSocket broadcast loop with no framework, no
 * identity, no limits and no backpressure. It emits the same tick rate over the same symbols as the synthetic feed
 * (bursts every 50 ms) and sends each tick, serialized once, to every socket subscribed to its symbol.
 *
 * Run: deno run --allow-net bench/ws_bare_server.ts <ticksPerSecond> <symbol,...>; prints the port on stdout.
 */
// @ts-types="./peers/stream.d.ts"
import { startStream } from "./peers/stream.mjs";

const rate = Number(Deno.args[0] ?? 2500);
const symbols = (Deno.args[1] ?? "AAPL").split(",");
const topics = new Map<string, Set<WebSocket>>(symbols.map((s) => [s, new Set()]));

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  const mine = new Set<string>();
  socket.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data));
    if (msg.type !== "subscribe") return;
    for (const s of msg.symbols as string[]) {
      topics.get(s)?.add(socket);
      mine.add(s);
    }
    socket.send(JSON.stringify({ type: "snapshot", quotes: [] }));
  };
  socket.onclose = () => {
    for (const s of mine) topics.get(s)?.delete(socket);
  };
  return response;
});

// The same synthetic stream the Node peers get (bench/peers/stream.mjs).
startStream(rate, symbols, (symbol: string, tick: Record<string, unknown>) => {
  const frame = JSON.stringify({ type: "tick", ...tick });
  for (const ws of topics.get(symbol)!) {
    if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  }
});

Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
