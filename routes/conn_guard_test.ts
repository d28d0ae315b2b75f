import assert from "node:assert/strict";
import { serveGuarded, SharedPeerTable } from "./conn_guard.ts";

Deno.test("SharedPeerTable: what one table writes, another over the same memory reads; deleted is gone", () => {
  const writer = new SharedPeerTable();
  const reader = new SharedPeerTable(writer.buffer);
  const v6 = "2001:db8:85a3:1234:5678:8a2e:370:7334";
  writer.set(40_001, { transport: "tcp", hostname: "203.0.113.9", port: 51_234 });
  writer.set(65_535, { transport: "tcp", hostname: v6, port: 443 });
  assert.deepEqual(reader.get(40_001), { transport: "tcp", hostname: "203.0.113.9", port: 51_234 });
  assert.deepEqual(reader.get(65_535), { transport: "tcp", hostname: v6, port: 443 });
  assert.equal(reader.get(40_002), undefined, "an unused port has no client");
  writer.delete(40_001);
  assert.equal(reader.get(40_001), undefined);
});

Deno.test("serveGuarded: the guard's thread relays, and the app sees each client's own address and port", async () => {
  const server = await serveGuarded((_req, remote) => new Response(`${remote.hostname}:${remote.port}`), {
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 100,
    maxPerAddress: 100,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    maxWsMessageBytes: 64 * 1024,
  });
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      const mine = conn.localAddr as Deno.NetAddr;
      await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.ok(text.endsWith(`\r\n\r\n127.0.0.1:${mine.port}`), `the app saw the client's port ${mine.port}: ${text}`);
    }
    assert.equal(server.stats().accepted, 3, "counted in the guard's thread, read in this one");
  } finally {
    await server.shutdown();
  }
});
