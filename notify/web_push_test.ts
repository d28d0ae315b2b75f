import assert from "node:assert/strict";
import { browserSubscription, verifyVapid } from "../tests/fake_receivers.ts";
import { loadVapidKeys, pushRequest } from "./web_push.ts";

Deno.test("VAPID keys are generated once under DATA_DIR; a push request decrypts with the browser's keys and carries a VAPID header a push service verifies", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadVapidKeys(dir);
    const vapid = await loadVapidKeys(dir);
    assert.equal(vapid.publicKey, first.publicKey);
    assert.equal(Uint8Array.fromBase64(first.publicKey, { alphabet: "base64url" }).length, 65);
    assert.equal((await Deno.stat(`${dir}/vapid.json`)).mode! & 0o777, 0o600);

    const sub = browserSubscription("https://push.example.net:8443/send/abc");
    const text = JSON.stringify({ idempotencyKey: "k1", alert: { message: "AAPL fell 5.2%" } });
    const opts = { vapid, subject: "mailto:ops@example.com" };
    const before = Math.floor(Date.now() / 1000);
    const a = pushRequest(sub.json, text, opts);
    const b = pushRequest(sub.json, text, opts);
    // The body: RFC 8291 aes128gcm, decrypted independently (http_ece), a fresh salt per message.
    assert.equal(sub.decrypt(a.body), text);
    assert.equal(sub.decrypt(b.body), text);
    assert.notDeepEqual(a.body.slice(0, 16), b.body.slice(0, 16), "a new salt per message");
    const other = browserSubscription("https://push.example.net/send/def");
    assert.throws(() => other.decrypt(a.body), "another subscriber cannot read it");
    const header = (name: string) => Object.entries(a.headers).find(([k]) => k.toLowerCase() === name)?.[1];
    assert.equal(header("content-encoding"), "aes128gcm");
    assert.equal(header("ttl"), "86400");
    assert.equal(header("urgency"), "high");
    assert.equal(header("content-length"), undefined, "the POST sets its own length");
    // The header: RFC 8292, signed by the stored key, for the push service's origin, valid about 12 hours.
    const claims = await verifyVapid(header("authorization")!);
    assert.equal(claims.aud, "https://push.example.net:8443");
    assert.equal(claims.sub, "mailto:ops@example.com");
    assert.ok(claims.exp >= before + 12 * 3600 - 5 && claims.exp <= before + 24 * 3600, String(claims.exp));
    assert.equal(claims.k, first.publicKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
