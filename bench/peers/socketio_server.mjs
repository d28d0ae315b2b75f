// Fan-out peer: Socket.IO 4 on Node, one room per symbol, volatile emits (a tick is dropped for a client whose
// transport is not ready, rather than queued). Prints its port on stdout.
//   node bench/peers/socketio_server.mjs <ticksPerSecond> <symbol,...>
import { createServer } from "node:http";
import { Server } from "socket.io";
import { startStream } from "./stream.mjs";

const rate = Number(process.argv[2] ?? 2500);
const symbols = (process.argv[3] ?? "AAPL").split(",");
const http = createServer();
const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false, serveClient: false });
io.on("connection", (socket) => {
  socket.on("subscribe", (list) => {
    if (Array.isArray(list)) socket.join(list.filter((s) => typeof s === "string"));
  });
});
http.listen(0, "127.0.0.1", () => console.log(http.address().port));
startStream(rate, symbols, (symbol, tick) => io.volatile.to(symbol).emit("tick", tick));
process.on("SIGTERM", () => io.close(() => process.exit(0)));
