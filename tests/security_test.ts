import assert from "node:assert/strict";
import { client, withApp } from "./api_client.ts";

Deno.test("every page and API response carries the security headers; per-user JSON is no-store", async () => {
  await withApp(async (base) => {
    for (const path of ["/", "/history", "/api/v1/health", "/api/v1/rules", "/api/v1/nowhere", "/docs"]) {
      const res = await fetch(base + path);
      await res.body?.cancel();
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      assert.match(csp, /script-src 'self'(;|$)/, `${path}: ${csp}`);
      assert.doesNotMatch(/script-src[^;]*/.exec(csp)![0], /unsafe-inline/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff", path);
      assert.ok(res.headers.get("Referrer-Policy"), path);
      assert.match(res.headers.get("Permissions-Policy") ?? "", /camera=\(\)/, path);
    }
    for (const path of ["/api/v1/rules", "/api/v1/watchlists", "/api/v1/tokens", "/api/v1/alerts"]) {
      const res = await fetch(base + path);
      await res.body?.cancel();
      assert.equal(res.headers.get("Cache-Control"), "no-store", path);
    }
  });
});

Deno.test("identity cookie: one per first request, dated and signed, Secure behind a TLS proxy", async () => {
  await withApp(async (base) => {
    const first = await fetch(`${base}/api/v1/rules`);
    await first.body?.cancel();
    const cookies = first.headers.getSetCookie();
    assert.equal(cookies.length, 1, `one identity, not ${cookies.length}`);
    const value = /^bb_uid=([^;]+)/.exec(cookies[0]!)![1]!;
    const [id, issued, mac] = value.split(".");
    assert.match(id!, /^u_/);
    assert.ok(Math.abs(Number(issued) - Date.now() / 1000) < 600, "issue time in seconds");
    assert.ok(mac);
    assert.doesNotMatch(cookies[0]!, /Secure/i, "plain http without a trusted proxy");
    // The cookie identifies its user; a changed issue time does not verify.
    const a = client(base, `bb_uid=${value}`);
    const mine = await a.call("GET", "/api/v1/rules");
    assert.equal(mine.cookie, null, "a valid cookie is kept");
    const forged = await fetch(`${base}/api/v1/rules`, {
      headers: { Cookie: `bb_uid=${id}.${Number(issued) + 1}.${mac}` },
    });
    await forged.body?.cancel();
    assert.equal(forged.headers.getSetCookie().length, 1, "a tampered cookie gets a new identity");
    // Behind a TLS-terminating proxy the cookie is Secure, and the proxy's scheme counts for same-origin writes.
    const proxied = await fetch(`${base}/api/v1/rules`, { headers: { "X-Forwarded-Proto": "https" } });
    await proxied.body?.cancel();
    assert.match(proxied.headers.getSetCookie()[0]!, /;\s*Secure/i);
  }, { TRUST_PROXY: "true" });
});

Deno.test("without TRUST_PROXY a forwarded scheme is ignored", async () => {
  await withApp(async (base) => {
    const res = await fetch(`${base}/api/v1/rules`, { headers: { "X-Forwarded-Proto": "https" } });
    await res.body?.cancel();
    assert.doesNotMatch(res.headers.getSetCookie()[0]!, /Secure/i);
  });
});
