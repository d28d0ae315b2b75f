// Fan-out peer: the `ws` package on Node, a set of sockets per symbol, each tick serialized once and sent to every
// subscriber (no framework, no limits, no backpressure). Prints its port on stdout.
//   node bench/peers/ws_server.mjs <ticksPerSecond> <symbol,...>
import { WebSocketServer } from "ws";
import { startStream } from "./stream.mjs";

const rate = Number(process.argv[2] ?? 2500);
const symbols = (process.argv[3] ?? "AAPL").split(",");
const topics = new Map(symbols.map((s) => [s, new Set()]));
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("listening", () => console.log(wss.address().port));
wss.on("connection", (ws) => {
  const mine = new Set();
  ws.on("message", (data) => {
    let msg;
    try {
      msg = JSON.parse(String(data));
    } catch {
      return;
    }
    if (msg.type !== "subscribe" || !Array.isArray(msg.symbols)) return;
    for (const s of msg.symbols) {
      topics.get(s)?.add(ws);
      mine.add(s);
    }
    ws.send(JSON.stringify({ type: "snapshot", quotes: [] }));
  });
  ws.on("close", () => {
    for (const s of mine) topics.get(s)?.delete(ws);
  });
});
startStream(rate, symbols, (symbol, tick) => {
  const frame = JSON.stringify({ type: "tick", ...tick });
  for (const ws of topics.get(symbol)) if (ws.readyState === 1) ws.send(frame);
});
process.on("SIGTERM", () => wss.close(() => process.exit(0)));
