import assert from "node:assert/strict";
import { startApp } from "./app_process.ts";
import { until } from "./wait.ts";

/** Opens `n` TCP connections to `port` that never send a byte; connections the server refuses are counted too. */
async function openSilent(port: number, n: number): Promise<Deno.Conn[]> {
  const out: Deno.Conn[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(50, n - i) }, () => Deno.connect({ hostname: "127.0.0.1", port })),
    );
    for (const r of batch) if (r.status === "fulfilled") out.push(r.value);
  }
  return out;
}

/** Reads until the server closes `conn`; resolves with the bytes it sent. */
async function readToEnd(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      break; // reset
    }
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

function metric(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(" ").at(-1)) : NaN;
}

async function stop(app: { child: Deno.ChildProcess; finished: Promise<{ code: number; stderr: string }> }) {
  app.child.kill("SIGTERM");
  return await app.finished;
}

Deno.test("more silent connections than the process has descriptors: the server keeps answering health", async () => {
  const dir = await Deno.makeTempDir();
  // 256 descriptors; the cap is derived from that limit, the header timeout is long so only the caps act.
  const app = await startApp({
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    DATA_DIR: dir,
    HEADER_TIMEOUT_MS: "600000",
  }, 256);
  const conns: Deno.Conn[] = [];
  try {
    conns.push(...await openSilent(app.port, 600));
    const res = await fetch(`http://127.0.0.1:${app.port}/api/v1/health`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).store.ok, true);
    const m = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    assert.ok(metric(m, "breadboard_http_connections_closed_total", '{reason="evicted"}') > 0, "idle ones evicted");
    assert.ok(metric(m, "process_open_fds") < 256);
  } finally {
    for (const c of conns) c.close();
    const { code, stderr } = await stop(app);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /Uncaught|Too many open files/);
  }
});

Deno.test("accept errors when descriptors run out back off instead of ending the process", async () => {
  const dir = await Deno.makeTempDir();
  // A cap far above what 256 descriptors allow: accept itself fails with EMFILE.
  const app = await startApp(
    {
      FEED: "synthetic",
      SYNTHETIC_ALWAYS_OPEN: "true",
      DATA_DIR: dir,
      HEADER_TIMEOUT_MS: "600000",
      MAX_CONNECTIONS: "100000",
    },
    256,
  );
  const conns: Deno.Conn[] = [];
  try {
    conns.push(...await openSilent(app.port, 600));
    // It answers; the store may say it is degraded while the process is out of descriptors.
    const res = await fetch(`http://127.0.0.1:${app.port}/api/v1/health`);
    assert.ok(res.status === 200 || res.status === 503, String(res.status));
    assert.match((await res.json()).status, /^(ok|degraded)$/);
    const m = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    assert.ok(metric(m, "breadboard_http_accept_errors_total") > 0, "accept failed at least once");
    for (const c of conns.splice(0)) c.close();
    // Once the silent clients are gone, everything is healthy again.
    await until(
      async () => (await fetch(`http://127.0.0.1:${app.port}/api/v1/health`)).status === 200,
      30_000,
      "health back to 200",
    );
  } finally {
    for (const c of conns) c.close();
    const { code, stderr } = await stop(app);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /Uncaught/);
  }
});

Deno.test("unfinished headers and idle keep-alive connections are closed; a per-address cap refuses the rest", async () => {
  const dir = await Deno.makeTempDir();
  const app = await startApp({
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    DATA_DIR: dir,
    HEADER_TIMEOUT_MS: "300",
    IDLE_TIMEOUT_MS: "300",
    MAX_CONNECTIONS_PER_IP: "20",
  });
  try {
    const enc = new TextEncoder();
    // Half a request, then silence: closed without a response.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port: app.port });
    await slow.write(enc.encode("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"));
    assert.equal(await readToEnd(slow), "");
    slow.close();
    // A whole request is answered; the connection is then closed once idle.
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: app.port });
    await idle.write(enc.encode("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.match(await readToEnd(idle), /^HTTP\/1\.1 200/);
    idle.close();
    // 20 connections that each completed a request fill this address's cap: the 21st is refused at once.
    const busy: Deno.Conn[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: app.port });
      await c.write(enc.encode("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
      const buf = new Uint8Array(16);
      assert.ok((await c.read(buf)) !== null);
      busy.push(c);
    }
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: app.port });
    await extra.write(enc.encode("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")).catch(() => 0);
    assert.equal(await readToEnd(extra), "");
    extra.close();
    for (const c of busy) c.close();
  } finally {
    const { code, stderr } = await stop(app);
    assert.equal(code, 0, stderr);
  }
});

Deno.test("HTTP_GUARD=false serves with plain Deno.serve: no guard caps, no guard metrics", async () => {
  const dir = await Deno.makeTempDir();
  const app = await startApp({
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    DATA_DIR: dir,
    HTTP_GUARD: "false",
    MAX_CONNECTIONS_PER_IP: "2",
  });
  try {
    const enc = new TextEncoder();
    // With the guard, the third connection from one address would be refused; here all three are answered.
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: app.port });
      await c.write(enc.encode("GET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
      const buf = new Uint8Array(64);
      const n = await c.read(buf);
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/, `connection ${i + 1}`);
      conns.push(c);
    }
    for (const c of conns) c.close();
    const metrics = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    assert.match(metrics, /^# TYPE breadboard_ticks_received_total counter$/m);
    assert.doesNotMatch(metrics, /breadboard_http_connections/);
  } finally {
    const { code, stderr } = await stop(app);
    assert.equal(code, 0, stderr);
  }
});
