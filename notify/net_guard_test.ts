import assert from "node:assert/strict";
import { checkTarget, isBlockedAddress, UnsafeTargetError } from "./net_guard.ts";

Deno.test("isBlockedAddress refuses loopback, private, link-local, metadata and reserved ranges", () => {
  for (
    const ip of [
      "127.0.0.1",
      "127.5.6.7",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "255.255.255.255",
      "::",
      "::1",
      "fe80::1",
      "fc00::1",
      "fd00:ec2::254",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "64:ff9b::a9fe:a9fe",
      "2002:7f00:1::",
      "ff02::1",
      // IPv4-compatible, SIIT, local-use NAT64, Teredo, site-local, discard, documentation, 6to4 of private space
      "::127.0.0.1",
      "::7f00:1",
      "::ffff:0:7f00:1",
      "64:ff9b:1::7f00:1",
      "64:ff9b:1::808:808",
      "2001:0:4136:e378:8000:63bf:3fff:fdd2",
      "2001::1",
      "fec0::1",
      "100::1",
      "2001:db8::1",
      "2002:a00:1::",
      "::a9fe:a9fe",
      "::ffff:169.254.169.254",
      "::ffff:10.0.0.1",
      "64:ff9b::7f00:1",
      "fe80::1%eth0",
      "[::1]",
      "not-an-ip",
    ]
  ) assert.equal(isBlockedAddress(ip), true, ip);
  for (
    const ip of [
      "93.184.216.34",
      "8.8.8.8",
      "172.32.0.1",
      "100.128.0.1",
      "2606:4700::1111",
      "::ffff:8.8.8.8",
      "64:ff9b::808:808",
      "2a00:1450:4001:80b::200e",
    ]
  ) {
    assert.equal(isBlockedAddress(ip), false, ip);
  }
});

Deno.test("checkTarget refuses private targets by literal and by name, and allows them when told to", async () => {
  const resolve = (host: string) =>
    Promise.resolve(
      host === "metadata.internal"
        ? ["169.254.169.254"]
        : host === "mixed.example"
        ? ["8.8.8.8", "10.0.0.5"]
        : ["93.184.216.34"],
    );
  for (
    const url of [
      "http://127.0.0.1:8080/hook",
      "http://[::1]/hook",
      "http://[::127.0.0.1]/hook",
      "http://[::7f00:1]/hook",
      "http://[::ffff:0:7f00:1]/hook",
      "http://[64:ff9b:1::7f00:1]/hook",
      "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
      "http://[fec0::1]/hook",
      "http://169.254.169.254/latest/meta-data",
      "https://metadata.internal/x",
      "https://mixed.example/x",
    ]
  ) {
    await assert.rejects(
      checkTarget(url, { allowPrivate: false, resolve }),
      (e) => e instanceof UnsafeTargetError,
      url,
    );
  }
  await assert.rejects(checkTarget("ftp://example.com/x", { allowPrivate: true, resolve }), /only http and https/);
  await assert.rejects(checkTarget("http://u:p@example.com/x", { allowPrivate: true, resolve }), /credentials/);
  assert.deepEqual(await checkTarget("https://hooks.example.com/x", { allowPrivate: false, resolve }), [
    "93.184.216.34",
  ]);
  assert.deepEqual(await checkTarget("http://127.0.0.1:8080/hook", { allowPrivate: true, resolve }), ["127.0.0.1"]);
});

Deno.test("checkTarget resolves names with the system resolver: localhost is loopback", async () => {
  await assert.rejects(
    checkTarget("http://localhost:8080/", { allowPrivate: false }),
    /resolves to (127\.0\.0\.1|::1)/,
  );
});
