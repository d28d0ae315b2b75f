/**
 * The baseline of the WebSocket load benchmark: a bare Deno WebSocket broadcast loop with no framework, no
 * identity, no limits and no backpressure. It emits the same tick rate over the same symbols as the synthetic feed
 * (bursts every 50 ms) and sends each tick, serialized once, to every socket subscribed to its symbol.
 *
 * Run: deno run --allow-net bench/ws_bare_server.ts <ticksPerSecond> <symbol,...>; prints the port on stdout.
 */
const rate = Number(Deno.args[0] ?? 2500);
const symbols = (Deno.args[1] ?? "AAPL").split(",");
const topics = new Map<string, Set<WebSocket>>(symbols.map((s) => [s, new Set()]));
const prices = symbols.map(() => 100);

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

let cursor = 0;
let carry = 0;
setInterval(() => {
  carry += rate / 20;
  const n = Math.floor(carry);
  carry -= n;
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const k = cursor++ % symbols.length;
    prices[k]! *= 1 + (Math.random() - 0.5) * 0.001;
    const frame = JSON.stringify({
      type: "tick",
      symbol: symbols[k],
      price: Math.round(prices[k]! * 100) / 100,
      time: now,
      change: 0,
      changePercent: 0,
      dayVolume: 0,
      marketHours: "regular",
      source: "synthetic",
    });
    for (const ws of topics.get(symbols[k]!)!) {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    }
  }
}, 50);

Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
