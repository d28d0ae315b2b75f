import assert from "node:assert/strict";
import { keys } from "../actors/keys.ts";
import type { Alert } from "../schema/alert.ts";
import type { Delivery } from "../schema/notify.ts";
import { browserSubscription, startReceiver, verifyVapid } from "../tests/fake_receivers.ts";
import { until } from "../tests/wait.ts";
import { ChannelBook } from "./channel_book.ts";
import type { Resolver } from "./net_guard.ts";
import { Outbox, type OutboxOptions } from "./outbox.ts";
import { loadVapidKeys } from "./web_push.ts";

function alert(userId: string, id = `r1:AAPL:${userId}:1`): Alert {
  return {
    id,
    time: Date.UTC(2026, 10, 20, 15),
    symbol: "AAPL",
    ruleId: "r1",
    userId,
    kind: "price_below",
    window: "",
    message: "AAPL is below 199.00 at 198.00",
    price: 198,
    changePercent: -2.1,
  };
}

/** A KV file, a channel book and an outbox listening on it; `fn` runs, then everything closes. */
async function withOutbox(
  opts: Partial<OutboxOptions> & { allowPrivate?: boolean; resolve?: Resolver },
  fn: (o: { kv: Deno.Kv; outbox: Outbox; channels: ChannelBook; raise: (a: Alert) => Promise<void> }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  const guard = { allowPrivate: opts.allowPrivate ?? true, ...(opts.resolve ? { resolve: opts.resolve } : {}) };
  const channels = new ChannelBook(kv, { ...guard, emailEnabled: false });
  const outbox = new Outbox({ kv, channels, guard, maxAttempts: 4, retryMs: 20, ...opts });
  outbox.listen();
  try {
    await fn({
      kv,
      outbox,
      channels,
      raise: async (a) => {
        const op = kv.atomic().set(keys.alertSeen(a.id), a.time);
        outbox.stage(op, a);
        assert.equal((await op.commit()).ok, true);
      },
    });
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const record = async (kv: Deno.Kv, userId: string, key: string) =>
  (await kv.get<Delivery>(keys.delivery(userId, key))).value;

Deno.test("a receiver that fails twice then succeeds gets the alert on the third try, same idempotency key", async () => {
  const rx = startReceiver((_r, n) => n <= 2 ? 500 : 200);
  try {
    await withOutbox({}, async ({ kv, channels, raise }) => {
      const ch = await channels.add("u_a", "c_a", { kind: "webhook", url: `${rx.url}/a` });
      const a = alert("u_a");
      await raise(a);
      const key = `${a.id}.${ch.id}`;
      await until(async () => (await record(kv, "u_a", key))?.status === "delivered", 10_000, "delivered");
      assert.equal(rx.got.length, 3);
      assert.deepEqual(rx.got.map((g) => g.headers["idempotency-key"]), [key, key, key]);
      assert.deepEqual(rx.got.map((g) => JSON.parse(g.text).idempotencyKey), [key, key, key]);
      const rec = (await record(kv, "u_a", key))!;
      assert.equal(rec.attempts, 3);
      assert.equal(rec.kind, "webhook");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rx.got.length, 3, "nothing after the success");
    });
  } finally {
    await rx.stop();
  }
});

Deno.test("after the last retry the message is a dead letter with the receiver's answer as reason", async () => {
  const rx = startReceiver(() => 503);
  try {
    await withOutbox({ maxAttempts: 3 }, async ({ kv, outbox, channels, raise }) => {
      const ch = await channels.add("u_a", "c_a", { kind: "webhook", url: rx.url });
      const a = alert("u_a");
      await raise(a);
      // The outbox counts a dead letter once its record is written: wait for the count, then read the record.
      await until(() => outbox.stats().dead === 1, 10_000, "dead-lettered");
      assert.equal((await record(kv, "u_a", `${a.id}.${ch.id}`))?.status, "dead");
      assert.equal(rx.got.length, 3);
      const [dead] = await outbox.list("u_a", { status: "dead", limit: 10 });
      assert.equal(dead?.reason, "gave up after 3 attempts: webhook answered 503: status 503");
      assert.equal(dead?.symbol, "AAPL");
      assert.equal(outbox.stats().retried, 2);
      assert.deepEqual(await outbox.list("u_b", { limit: 10 }), [], "another user sees none of it");
    });
  } finally {
    await rx.stop();
  }
});

Deno.test("an alert goes only to its owner's channels, and once even when its outbox message comes twice", async () => {
  const rx = startReceiver();
  try {
    await withOutbox({}, async ({ kv, outbox, channels, raise }) => {
      await channels.add("u_a", "c_a", { kind: "webhook", url: `${rx.url}/a` });
      await channels.add("u_b", "c_b", { kind: "webhook", url: `${rx.url}/b` });
      const a = alert("u_a");
      await raise(a);
      await until(() => rx.got.length === 1, 10_000, "A's delivery");
      // The queue may hand the same message over again: the fan-out marker stops a second round.
      await outbox.handle({ v: 1, type: "alert", alert: a });
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(rx.got.map((g) => g.path), ["/a"]);
      await raise(alert("", "default-day-change:AAPL:1"));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rx.got.length, 1, "the built-in rule's alerts go to no user's channel");
      assert.equal(await record(kv, "u_b", `${a.id}.c_b`), null);
    });
  } finally {
    await rx.stop();
  }
});

Deno.test("a name that re-resolves to loopback after it was saved is refused when sent (DNS rebinding)", async () => {
  const rx = startReceiver();
  let calls = 0;
  // Public when the channel is saved, loopback (where the receiver listens) from then on.
  const resolve: Resolver = () => Promise.resolve(calls++ === 0 ? ["93.184.216.34"] : ["127.0.0.1"]);
  try {
    await withOutbox({ allowPrivate: false, resolve }, async ({ kv, channels, raise }) => {
      const port = new URL(rx.url).port;
      const ch = await channels.add("u_a", "c_a", { kind: "webhook", url: `http://hooks.example.com:${port}/a` });
      const a = alert("u_a");
      await raise(a);
      const key = `${a.id}.${ch.id}`;
      await until(async () => (await record(kv, "u_a", key))?.status === "dead", 10_000, "refused");
      const rec = (await record(kv, "u_a", key))!;
      assert.match(rec.reason!, /hooks\.example\.com resolves to 127\.0\.0\.1/);
      assert.equal(rec.attempts, 1, "a refused target is not retried");
      assert.equal(rx.got.length, 0);
    });
  } finally {
    await rx.stop();
  }
});

Deno.test("web push sends an encrypted VAPID-signed message, and a 410 removes the subscription", async () => {
  const rx = startReceiver((_r, n) => n === 1 ? 201 : 410);
  const dir = await Deno.makeTempDir();
  try {
    const vapid = await loadVapidKeys(dir);
    await withOutbox({ push: { vapid, subject: "mailto:ops@example.com" } }, async ({ kv, channels, raise }) => {
      const browser = browserSubscription(`${rx.url}/push/sub1`);
      const ch = await channels.add("u_a", "c_p", { kind: "push", subscription: browser.json });
      const a1 = alert("u_a", "r1:AAPL:1");
      await raise(a1);
      await until(async () => (await record(kv, "u_a", `${a1.id}.${ch.id}`))?.status === "delivered", 10_000, "push");
      const got = rx.got[0]!;
      assert.equal(got.headers["content-encoding"], "aes128gcm");
      assert.equal(got.headers["ttl"], "86400");
      const claims = await verifyVapid(got.headers["authorization"]!);
      assert.equal(claims.k, vapid.publicKey);
      assert.equal(claims.aud, rx.url);
      const message = JSON.parse(browser.decrypt(got.body));
      assert.equal(message.idempotencyKey, `${a1.id}.${ch.id}`);
      assert.equal(message.alert.message, "AAPL is below 199.00 at 198.00");

      const a2 = alert("u_a", "r1:AAPL:2");
      await raise(a2);
      await until(async () => (await record(kv, "u_a", `${a2.id}.${ch.id}`))?.status === "dead", 10_000, "gone");
      assert.match((await record(kv, "u_a", `${a2.id}.${ch.id}`))!.reason!, /410: the subscription has expired/);
      assert.deepEqual(await channels.list("u_a"), [], "the expired subscription is removed");
      assert.equal(rx.got.length, 2, "not retried");
    });
  } finally {
    await rx.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an outbox message that is not a valid envelope is dropped and counted, not retried", async () => {
  await withOutbox({}, async ({ outbox }) => {
    await outbox.handle({ v: 2, type: "alert" });
    await outbox.handle("garbage");
    assert.equal(outbox.stats().invalid, 2);
  });
});
