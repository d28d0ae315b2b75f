import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { startReceiver } from "../tests/fake_receivers.ts";
import { postGuarded } from "./http_post.ts";
import { DeliveryError, newWebhookSecret, sendWebhook, SIGNATURE_HEADER, signPayload } from "./webhook.ts";

const payload = {
  idempotencyKey: "a1.c1",
  type: "alert" as const,
  alert: {
    id: "a1",
    time: 1,
    symbol: "AAPL",
    rule: "r1",
    kind: "price_below",
    message: "AAPL is below 199.00 at 198.00",
    price: 198,
    changePercent: -1,
  },
};

Deno.test("signPayload is HMAC-SHA256 over '<t>.<body>' that a receiver recomputes", async () => {
  const secret = newWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const header = await signPayload(secret, 1_700_000_000, '{"x":1}');
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
  const expected = createHmac("sha256", secret).update(`${t}.{"x":1}`).digest();
  assert.ok(timingSafeEqual(expected, Buffer.from(v1!, "hex")));
  assert.notEqual(await signPayload(secret, 1_700_000_001, '{"x":1}'), header);
});

Deno.test("sendWebhook posts signed JSON with the idempotency key and treats a redirect as a failure", async () => {
  const rx = startReceiver((_r, n) => n === 1 ? 204 : 302);
  try {
    const target = { url: `${rx.url}/hooks/a`, secret: "whsec_test" };
    await sendWebhook(target, payload, { allowPrivate: true }, () => 1_700_000_000_000);
    const got = rx.got[0]!;
    assert.equal(got.path, "/hooks/a");
    assert.equal(got.headers["content-type"], "application/json");
    assert.equal(got.headers["idempotency-key"], "a1.c1");
    assert.deepEqual(JSON.parse(got.text), payload);
    assert.equal(got.headers[SIGNATURE_HEADER.toLowerCase()], await signPayload("whsec_test", 1_700_000_000, got.text));
    await assert.rejects(
      sendWebhook(target, payload, { allowPrivate: true }),
      (e) => e instanceof DeliveryError && /answered 302/.test(e.message),
    );
    assert.equal(rx.got.length, 2, "the redirect was not followed");
  } finally {
    await rx.stop();
  }
});

Deno.test("a delivered webhook verifies with the Standard Webhooks library and with Stripe's SDK", async () => {
  const rx = startReceiver();
  try {
    const secret = newWebhookSecret();
    await sendWebhook({ url: rx.url, secret }, payload, { allowPrivate: true });
    const got = rx.got[0]!;
    assert.equal(got.headers["webhook-id"], payload.idempotencyKey, "the message id is stable across retries");
    const verified = new Webhook(secret).verify(got.text, {
      "webhook-id": got.headers["webhook-id"]!,
      "webhook-timestamp": got.headers["webhook-timestamp"]!,
      "webhook-signature": got.headers["webhook-signature"]!,
    });
    assert.deepEqual(verified, payload);
    assert.throws(() =>
      new Webhook(newWebhookSecret()).verify(got.text, {
        "webhook-id": got.headers["webhook-id"]!,
        "webhook-timestamp": got.headers["webhook-timestamp"]!,
        "webhook-signature": got.headers["webhook-signature"]!,
      }), "another secret does not verify");
    // The Stripe-style header keeps working for receivers built on it.
    const event = await new Stripe("sk_test_unused").webhooks.constructEventAsync(
      got.text,
      got.headers[SIGNATURE_HEADER.toLowerCase()]!,
      secret,
    );
    assert.equal((event as unknown as typeof payload).idempotencyKey, payload.idempotencyKey);
    await assert.rejects(
      new Stripe("sk_test_unused").webhooks.constructEventAsync(
        got.text.replace("198", "197"),
        got.headers[SIGNATURE_HEADER.toLowerCase()]!,
        secret,
      ),
      "a changed body does not verify",
    );
  } finally {
    await rx.stop();
  }
});

Deno.test("sendWebhook refuses a loopback receiver unless private targets are allowed", async () => {
  const rx = startReceiver();
  try {
    await assert.rejects(
      sendWebhook({ url: rx.url, secret: "s" }, payload, { allowPrivate: false }),
      /loopback, private/,
    );
    assert.equal(rx.got.length, 0);
  } finally {
    await rx.stop();
  }
});

Deno.test("sendWebhook gives up on a receiver that does not answer in time", async () => {
  const rx = startReceiver(() => new Promise<number>((r) => setTimeout(() => r(200), 800)));
  try {
    await assert.rejects(
      postGuarded(rx.url, { allowPrivate: true, headers: {}, body: "x", timeoutMs: 200 }),
      /no response within 200 ms/,
    );
  } finally {
    await new Promise((r) => setTimeout(r, 900));
    await rx.stop();
  }
});
