import assert from "node:assert/strict";
import { browserSubscription, verifyVapid } from "../tests/fake_receivers.ts";
import { encryptPushPayload, loadVapidKeys, vapidAuthorization } from "./web_push.ts";

Deno.test("encryptPushPayload output decrypts with the browser's keys (RFC 8291), fresh each time", async () => {
  const sub = browserSubscription("https://push.example.net/send/abc");
  const text = JSON.stringify({ idempotencyKey: "k1", alert: { message: "AAPL fell 5.2%" } });
  const a = await encryptPushPayload(sub.json.keys, new TextEncoder().encode(text));
  const b = await encryptPushPayload(sub.json.keys, new TextEncoder().encode(text));
  assert.equal(sub.decrypt(a), text);
  assert.equal(sub.decrypt(b), text);
  assert.notDeepEqual(a.slice(0, 16), b.slice(0, 16), "a new salt per message");
  assert.equal(new DataView(a.buffer).getUint32(16), 4096);
  // A different subscriber cannot read it.
  const other = browserSubscription("https://push.example.net/send/def");
  assert.throws(() => other.decrypt(a));
});

Deno.test("VAPID keys are generated once under DATA_DIR and sign a header a push service verifies", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadVapidKeys(dir);
    const again = await loadVapidKeys(dir);
    assert.equal(again.publicKey, first.publicKey);
    assert.equal(Uint8Array.fromBase64(first.publicKey, { alphabet: "base64url" }).length, 65);
    assert.equal((await Deno.stat(`${dir}/vapid.json`)).mode! & 0o777, 0o600);
    const now = Date.UTC(2026, 10, 21, 12);
    const header = await vapidAuthorization(
      again,
      "https://push.example.net:8443/send/abc",
      "mailto:ops@example.com",
      now,
    );
    const claims = await verifyVapid(header);
    assert.equal(claims.aud, "https://push.example.net:8443");
    assert.equal(claims.sub, "mailto:ops@example.com");
    assert.equal(claims.exp, now / 1000 + 12 * 3600);
    assert.equal(claims.k, first.publicKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
