import assert from "node:assert/strict";
import { ConnGuard } from "./conn_guard.ts";
import { FrameChannel, type WsOutlet } from "./frame_channel.ts";
import { until } from "../tests/wait.ts";

/**
 * A guard on this thread in front of a real `Deno.serve`, with a channel posting straight to it: what
 * `serveGuarded` does across two threads. `onSocket` gets each upgraded socket and its outlet once open.
 */
function guarded(onSocket: (socket: WebSocket, outlet: WsOutlet) => void) {
  const channel: FrameChannel = new FrameChannel((m) => {
    void guard.inject(new Uint8Array(m.bytes), new Uint32Array(m.index)).then(() => channel.acked(m.seq));
  });
  const appClosed: number[] = [];
  const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req, info) => {
    const relay = info.remoteAddr;
    const { socket, response } = Deno.upgradeWebSocket(req);
    const outlet = channel.outlet(relay.port, socket);
    socket.onopen = () => onSocket(socket, outlet);
    socket.onclose = (e) => appClosed.push(e.code);
    return response;
  });
  const guard = new ConnGuard({
    hostname: "127.0.0.1",
    port: 0,
    upstream: { hostname: "127.0.0.1", port: app.addr.port },
    maxConnections: 10,
    maxPerAddress: 10,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    maxWsMessageBytes: 64 * 1024,
    pendingFrames: channel.pending,
  });
  return {
    channel,
    guard,
    appClosed,
    url: `ws://127.0.0.1:${guard.addr.port}/`,
    async close() {
      await guard.close();
      await app.shutdown();
    },
  };
}

/** Every message a client gets until the server closes, and the close. */
function collect(url: string) {
  const ws = new WebSocket(url);
  const got: string[] = [];
  ws.onmessage = (e) => got.push(String(e.data));
  const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
  return { ws, got, closed };
}

Deno.test("guard-written frames wait for the 101 and arrive whole, in order, beside the app's own", async () => {
  const big = "o".repeat(300_000); // the app's own frame, read by the guard in many parts
  const long = "h".repeat(70_000); // a handed-over frame with a 64-bit length
  let outletOf: WsOutlet | undefined;
  const server = await guarded((socket, outlet) => {
    outletOf = outlet;
    // At once on open: the guard may not have passed the 101 on yet, and holds these until it has.
    outlet.send("handed 1");
    socket.send("own 1");
    socket.send(big);
    for (let i = 2; i <= 50; i++) outlet.send(`handed ${i}`);
    outlet.send(long);
    socket.send("own 2");
    outlet.send("é, 漢, 🙂");
  });
  try {
    const c = collect(server.url);
    await until(() => c.got.length === 55, 10_000, "all 55 messages");
    const own = c.got.filter((m) => m.startsWith("own") || m === big);
    assert.deepEqual(own.map((m) => m.slice(0, 5)), ["own 1", "ooooo", "own 2"], "the app's frames, in order");
    assert.equal(own[1], big, "the app's long frame arrived whole");
    const handed = c.got.filter((m) => !own.includes(m));
    assert.deepEqual(
      handed,
      [...Array.from({ length: 50 }, (_, i) => `handed ${i + 1}`), long, "é, 漢, 🙂"],
      "handed-over frames, whole and in order",
    );
    await server.channel.settled();
    assert.equal(outletOf!.bufferedAmount, 0, "nothing pending once the guard wrote it all");
    c.ws.close();
    await c.closed;
  } finally {
    await server.close();
  }
});

Deno.test("a handed-over close follows the frames before it; the client's answer closes the app's socket", async () => {
  const server = await guarded((_socket, outlet) => {
    outlet.send("one");
    outlet.send("two");
    outlet.close(4008, "too slow: behind for more than 10 s");
    outlet.send("after the close: dropped");
  });
  try {
    const c = collect(server.url);
    const e = await c.closed;
    assert.deepEqual(c.got, ["one", "two"]);
    assert.equal(e.code, 4008);
    assert.equal(e.reason, "too slow: behind for more than 10 s");
    await until(() => server.appClosed.length === 1, 10_000, "the app's socket closed");
    await until(() => server.guard.stats().open === 0, 10_000, "the guard let the connection go");
    assert.equal(server.channel.pending.reduce((a, b) => a + b, 0), 0, "nothing counted as pending");
  } finally {
    await server.close();
  }
});

Deno.test("a client that stops reading holds up no flush; its unsent bytes count until it is gone", async () => {
  let outlet: WsOutlet | undefined;
  const server = await guarded((_s, o) => outlet = o);
  try {
    // A client that completes the handshake and then never reads.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.guard.addr.port });
    await conn.write(new TextEncoder().encode(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    await until(() => outlet !== undefined, 10_000, "the socket open");
    const frame = "x".repeat(60_000);
    // Far more than the kernel's buffers take: the guard's write to this client stops completing.
    for (let i = 0; i < 300; i++) outlet!.send(frame);
    await server.channel.settled(); // resolves: the guard does not wait on this client for long
    assert.ok(outlet!.bufferedAmount > 1_000_000, `unsent bytes still counted: ${outlet!.bufferedAmount}`);
    conn.close();
    await until(() => server.channel.pending.reduce((a, b) => a + b, 0) === 0, 10_000, "pending back to 0");
  } finally {
    await server.close();
  }
});

/** Reads server frames (unmasked) from `bytes`: their opcodes and payloads as text. */
function frames(bytes: Uint8Array): { opcode: number; text: string }[] {
  const out: { opcode: number; text: string }[] = [];
  let i = 0;
  while (i < bytes.length) {
    const opcode = bytes[i]! & 0x0f;
    let len = bytes[i + 1]! & 0x7f;
    i += 2;
    if (len === 126) {
      len = (bytes[i]! << 8) | bytes[i + 1]!;
      i += 2;
    } else if (len === 127) {
      len = 0;
      for (let k = 0; k < 8; k++) len = len * 256 + bytes[i + k]!;
      i += 8;
    }
    out.push({ opcode, text: new TextDecoder().decode(bytes.subarray(i, i + len)) });
    i += len;
  }
  return out;
}

Deno.test("guard-written frames handed over while the app's frame is half through wait for its end", async () => {
  const big = "o".repeat(16 * 1024 * 1024); // more than the kernel's buffers hold: the guard is mid-frame
  let opened: ((o: { socket: WebSocket; outlet: WsOutlet }) => void) | undefined;
  const open = new Promise<{ socket: WebSocket; outlet: WsOutlet }>((r) => opened = r);
  const server = await guarded((socket, outlet) => opened!({ socket, outlet }));
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.guard.addr.port });
    await conn.write(new TextEncoder().encode(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    const { socket, outlet } = await open;
    socket.send(big);
    // The first bytes here (the 101 and the start of the big frame) show the guard is relaying it; the client
    // reads nothing more for now, so the guard's relay stops inside the frame.
    const first = new Uint8Array(64 * 1024);
    const n = (await conn.read(first))!;
    const text = new TextDecoder().decode(first.subarray(0, n));
    const head = text.indexOf("\r\n\r\n") + 4;
    assert.match(text, /^HTTP\/1\.1 101/);
    for (let i = 1; i <= 20; i++) outlet.send(`handed ${i}`);
    socket.send("own 2");
    await server.channel.settled().catch(() => {});
    // Now read the rest: frames parse cleanly only if nothing went inside the big one.
    const parts = [first.subarray(head, n)];
    let total = n - head;
    const want = big.length + 10 + 20 * 10 + 7;
    const buf = new Uint8Array(1 << 20);
    while (total < want) {
      const m = await conn.read(buf);
      if (m === null) break;
      parts.push(buf.slice(0, m));
      total += m;
    }
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    const got = frames(all);
    assert.ok(got[0]!.text === big, `the app's frame first, whole (got ${got[0]!.text.length} characters first)`);
    const rest = got.slice(1).map((f) => f.text);
    assert.deepEqual(
      rest.filter((t) => t.startsWith("handed")),
      Array.from({ length: 20 }, (_, i) => `handed ${i + 1}`),
    );
    assert.ok(rest.includes("own 2"), "and the app's next frame");
    assert.equal(rest.length, 21);
    conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("FrameChannel: when the guard's thread ends, its frames are dropped and no flush waits on it", async () => {
  const posted: number[] = [];
  const first = new FrameChannel((m) => posted.push(m.seq));
  const socket = { bufferedAmount: 0, readyState: WebSocket.OPEN } as unknown as WebSocket;
  const outlet = first.outlet(40_000, socket);
  outlet.send("a");
  outlet.send("b");
  assert.equal(outlet.bufferedAmount, 6, "two 1-byte frames with their 2-byte headers, not written yet");
  const waiting = first.settled(); // posts them; the thread never answers
  assert.deepEqual(posted, [1]);
  first.restarted(undefined); // the thread ended
  await waiting;
  assert.equal(outlet.bufferedAmount, 0, "what the ended thread held is no longer counted");
  outlet.send("c"); // no thread now: dropped, never counted, never waited on
  await first.settled();
  assert.equal(outlet.bufferedAmount, 0);
  assert.deepEqual(posted, [1]);
  const next: number[] = [];
  first.restarted((m) => next.push(new Uint32Array(m.index).length));
  outlet.send("d");
  const settled = first.settled();
  assert.deepEqual(next, [4], "the next thread gets the frames from then on, one entry");
  first.acked(3);
  await settled;
});

Deno.test("FrameChannel: a flush waits for every message it handed over, though the guard finishes them out of order", async () => {
  const posted: number[] = [];
  const channel = new FrameChannel((m) => posted.push(m.seq));
  const socket = { bufferedAmount: 0, readyState: WebSocket.OPEN } as unknown as WebSocket;
  const outlets = [40_001, 40_002, 40_003].map((port) => channel.outlet(port, socket));
  // Three turns of the event loop, three messages: what a flush's slices post.
  for (const o of outlets) {
    o.send("x");
    await new Promise((r) => setTimeout(r, 0)); // the turn ends: its frames are posted
  }
  assert.deepEqual(posted, [1, 2, 3]);
  let done = false;
  const settled = channel.settled().then(() => done = true);
  channel.acked(3); // the last message's writes ended first
  channel.acked(1);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(done, false, "message 2 is still being written: the flush is not over");
  channel.acked(2);
  await settled;
  assert.equal(done, true);
  // Taken in order from then on, and a repeated or old answer changes nothing.
  outlets[0]!.send("y");
  const next = channel.settled();
  channel.acked(2);
  channel.acked(4);
  await next;
});
