import assert from "node:assert/strict";
import { startApp } from "./app_process.ts";

type Closed = { code: number; reason: string };

/** A raw client: every frame it got and how the server closed it. */
async function open(port: number, headers: Record<string, string> = {}) {
  const ws = new WebSocket(
    `ws://127.0.0.1:${port}/ws/realtime`,
    { headers } as unknown as string[],
  );
  const frames: { type: string; message?: string }[] = [];
  let resolveClosed: (c: Closed) => void;
  const closed = new Promise<Closed>((r) => (resolveClosed = r));
  ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
  ws.onclose = (e) => resolveClosed({ code: e.code, reason: e.reason });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return { ws, frames, closed };
}

Deno.test("WebSocket limits: foreign origins refused, oversize frames cut at the transport, bursts get errors and a close reason", async () => {
  const dir = await Deno.makeTempDir();
  const app = await startApp({
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    DATA_DIR: dir,
    WS_ALLOWED_ORIGINS: "https://partner.example.com",
    WS_MAX_CLIENTS_PER_IP: "3",
  });
  const base = `http://127.0.0.1:${app.port}`;
  try {
    // Cross-site pages cannot open a socket; the server's own origin and configured ones can.
    const upgrade = (origin: string) =>
      fetch(`${base}/ws/realtime`, {
        headers: {
          Upgrade: "websocket",
          Connection: "Upgrade",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
          Origin: origin,
        },
      });
    const evil = await upgrade("https://evil.example.com");
    assert.equal(evil.status, 403);
    assert.match((await evil.json()).error.message, /evil\.example\.com are not allowed/);
    const own = await open(app.port, { Origin: base });
    const partner = await open(app.port, { Origin: "https://partner.example.com" });

    // A 60 MB frame is refused as its header arrives: the connection closes, the server keeps serving.
    const big = await open(app.port);
    big.ws.send("x".repeat(60 * 1024 * 1024));
    const cut = await big.closed;
    assert.notEqual(cut.code, 1000);
    const m = await (await fetch(`${base}/metrics`)).text();
    assert.match(m, /breadboard_http_connections_closed_total\{reason="ws_too_large"\} [1-9]/);
    assert.equal((await fetch(`${base}/api/v1/health`)).status, 200);

    // Per-address cap: three open (own, partner, one more); the fourth is refused with 429.
    const third = await open(app.port);
    const fourth = await upgrade(base);
    assert.equal(fourth.status, 429);
    assert.match((await fourth.json()).error.message, /at most 3 WebSocket connections per client address/);
    third.ws.close();
    await third.closed;

    // A burst of 1,000 messages: error frames, then a close with its reason, not a reset.
    const burst = await open(app.port);
    for (let i = 0; i < 1000; i++) burst.ws.send(JSON.stringify({ type: "ping" }));
    const closed = await burst.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /too many invalid messages/);
    assert.ok(burst.frames.some((f) => f.type === "error" && /rate limit/.test(f.message ?? "")));
    own.ws.close();
    partner.ws.close();
    await Promise.all([own.closed, partner.closed]);
  } finally {
    app.child.kill("SIGTERM");
    const { code, stderr } = await app.finished;
    assert.equal(code, 0, stderr);
  }
});
