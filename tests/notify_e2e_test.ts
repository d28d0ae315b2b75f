import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { ALERT_STREAM } from "../notify/nats.ts";
import { client, withApp } from "./api_client.ts";
import { startApp } from "./app_process.ts";
import { type Received, startReceiver } from "./fake_receivers.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { startNatsServer } from "./nats_server.ts";
import { startSmtpSink } from "./smtp_sink.ts";
import { until } from "./wait.ts";

type Yahoo = ReturnType<typeof startFakeYahoo>;

/** A regular-session AAPL tick at `price`, one second after the last one. */
function ticker(yahoo: Yahoo) {
  let t = Date.now() - 60_000;
  return (price: number) =>
    yahoo.price({ id: "AAPL", price, time: t += 1_000, quoteType: 8, marketHours: 1, priceHint: 2, lastSize: 10 });
}

/** Checks a webhook request's signature with the channel's secret. */
function assertSigned(req: Received, secret: string) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers["breadboard-signature"] ?? "");
  assert.ok(m, `signature header: ${req.headers["breadboard-signature"]}`);
  assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 60, "timestamp is now");
  assert.equal(m[2], createHmac("sha256", secret).update(`${m[1]}.${req.text}`).digest("hex"));
}

async function rule(c: ReturnType<typeof client>, price: number) {
  const r = await c.call("POST", "/api/v1/rules", { symbol: "AAPL", kind: "price_below", price, cooldownMs: 0 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

Deno.test("alerts reach their owner's webhook and email and NATS JetStream; another user's webhook gets none", async () => {
  const rx = startReceiver((req) => req.path === "/fail" ? 500 : 200);
  const smtp = await startSmtpSink();
  const nats = await startNatsServer();
  try {
    await withApp(async (base, yahoo) => {
      const a = client(base);
      const b = client(base);
      await a.call("GET", "/api/v1/channels");
      await b.call("GET", "/api/v1/channels");
      const hookA = await a.call("POST", "/api/v1/channels", { kind: "webhook", url: `${rx.url}/a`, name: "ops" });
      assert.equal(hookA.status, 201, JSON.stringify(hookA.body));
      assert.match(hookA.body.secret, /^whsec_/);
      const mail = await a.call("POST", "/api/v1/channels", { kind: "email", address: "alice@example.com" });
      assert.equal(mail.status, 201, JSON.stringify(mail.body));
      const hookB = await b.call("POST", "/api/v1/channels", { kind: "webhook", url: `${rx.url}/b` });
      await b.call("POST", "/api/v1/channels", { kind: "webhook", url: `${rx.url}/fail` });
      const listed = (await a.call("GET", "/api/v1/channels")).body;
      assert.deepEqual(listed.channels.map((c: { kind: string }) => c.kind), ["webhook", "email"]);
      assert.equal(listed.channels[0].secret, undefined, "the secret is shown once");
      assert.deepEqual(listed.available, { webhook: true, email: true, push: true, nats: true });

      const ruleA = await rule(a, 199);
      const ruleB = await rule(b, 150);
      const tick = ticker(yahoo);
      tick(200);
      tick(198);

      await until(() => rx.got.some((r) => r.path === "/a") && smtp.mails.length === 1, 20_000, "A's webhook and mail");
      const toA = rx.got.find((r) => r.path === "/a")!;
      assertSigned(toA, hookA.body.secret);
      const body = JSON.parse(toA.text);
      assert.equal(body.alert.rule, ruleA);
      assert.equal(body.alert.message, "AAPL fell below 199.00 to 198.00");
      assert.equal(body.idempotencyKey, `${body.alert.id}.${hookA.body.id}`);
      assert.equal(toA.headers["idempotency-key"], body.idempotencyKey);

      const m = smtp.mails[0]!;
      assert.deepEqual(m.to, ["alice@example.com"]);
      assert.equal(m.header("subject"), "[Breadboard] AAPL fell below 199.00 to 198.00");
      assert.equal(m.header("x-breadboard-idempotency-key"), `${body.alert.id}.${mail.body.id}`);
      assert.match(m.raw, /Price: +198/);

      // NATS: the same alert on alerts.AAPL in the stream the app created.
      const nc = await connect({ servers: nats.url });
      try {
        const consumer = await jetstream(nc).consumers.get(ALERT_STREAM);
        let found: { subject: string; id: string; msgId: string | undefined } | undefined;
        await until(
          async () => {
            const msg = await consumer.next({ expires: 1_000 });
            if (!msg) return false;
            const p = msg.json<{ alert: { id: string } }>();
            if (p.alert.id === body.alert.id) {
              found = { subject: msg.subject, id: p.alert.id, msgId: msg.headers?.get("Nats-Msg-Id") };
            }
            return found !== undefined;
          },
          20_000,
          "alert on NATS",
        );
        assert.equal(found!.subject, "alerts.AAPL");
        assert.equal(found!.msgId, `${body.alert.id}.nats`);
      } finally {
        await nc.close();
      }

      // B's rule fires only at 150: B's channels have had nothing so far.
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(rx.got.map((r) => r.path), ["/a"]);
      tick(149);
      await until(() => rx.got.some((r) => r.path === "/b"), 20_000, "B's webhook");
      const toB = rx.got.find((r) => r.path === "/b")!;
      assertSigned(toB, hookB.body.secret);
      assert.equal(JSON.parse(toB.text).alert.rule, ruleB);
      assert.equal(rx.got.filter((r) => r.path === "/a").length, 1, "A's rule did not fire again");

      // B's failing webhook: two attempts (NOTIFY_MAX_ATTEMPTS=2), then a dead letter B can read, and A cannot.
      await until(
        async () => (await b.call("GET", "/api/v1/notifications?status=dead")).body.notifications.length === 1,
        20_000,
        "dead letter",
      );
      const [dead] = (await b.call("GET", "/api/v1/notifications?status=dead")).body.notifications;
      assert.equal(dead.reason, "gave up after 2 attempts: webhook answered 500: status 500");
      assert.equal(dead.symbol, "AAPL");
      assert.equal(rx.got.filter((r) => r.path === "/fail").length, 2);
      const mine = (await a.call("GET", "/api/v1/notifications")).body.notifications;
      assert.deepEqual(mine.map((n: { kind: string; status: string }) => `${n.kind}:${n.status}`).sort(), [
        "email:delivered",
        "webhook:delivered",
      ]);
    }, {
      SMTP_URL: smtp.url,
      NATS_URL: nats.url,
      NOTIFY_ALLOW_PRIVATE: "true",
      NOTIFY_MAX_ATTEMPTS: "2",
      NOTIFY_RETRY_MS: "50",
    });
  } finally {
    await rx.stop();
    await smtp.stop();
    await nats.stop();
  }
});

Deno.test("channels to private addresses, unsupported kinds and bad input are refused when saved", async () => {
  await withApp(async (base) => {
    const a = client(base);
    await a.call("GET", "/api/v1/channels");
    const cases: [unknown, number, RegExp][] = [
      [{ kind: "webhook", url: "http://127.0.0.1:8080/hook" }, 400, /resolves to 127\.0\.0\.1, a loopback, private/],
      [{ kind: "webhook", url: "http://localhost:8080/hook" }, 400, /loopback, private/],
      [{ kind: "webhook", url: "http://169.254.169.254/latest/meta-data/" }, 400, /metadata/],
      [{ kind: "webhook", url: "http://[::ffff:10.0.0.1]/" }, 400, /private/],
      [{ kind: "webhook", url: "file:///etc/passwd" }, 400, /url must be an http/],
      [{ kind: "email", address: "alice@example.com" }, 400, /no SMTP_URL/],
      [{ kind: "email", address: "not-an-address" }, 400, /address must be an email/],
      [
        { kind: "push", subscription: { endpoint: "https://push.example.net/x", keys: { p256dh: "AA", auth: "BB" } } },
        400,
        /65 bytes/,
      ],
      [{ kind: "sms", to: "+1555" }, 400, /kind must be one of webhook, email, push/],
    ];
    for (const [body, status, re] of cases) {
      const r = await a.call("POST", "/api/v1/channels", body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.body.error.message, re, JSON.stringify(body));
    }
    assert.deepEqual((await a.call("GET", "/api/v1/channels")).body.channels, []);
    assert.equal((await a.call("GET", "/api/v1/notifications?status=lost")).status, 400);
    assert.equal((await a.call("DELETE", "/api/v1/channels/c_nope")).status, 404);
    const vapid = (await a.call("GET", "/api/v1/channels")).body.vapidPublicKey;
    assert.equal(Uint8Array.fromBase64(vapid, { alphabet: "base64url" }).length, 65);
  });
});

Deno.test("a process killed while a delivery is in flight delivers it after restart, with the same key", async () => {
  const decoder = await createYahooDecoder();
  const yahoo = startFakeYahoo(decoder);
  let release: (status: number) => void = () => {};
  // The first request hangs until the process that sent it is gone; later ones succeed.
  const rx = startReceiver((_r, n) => n === 1 ? new Promise<number>((r) => release = r) : 200);
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-notify-" });
  const env = {
    DATA_DIR: dataDir,
    YAHOO_WS_URL: yahoo.url,
    SYMBOLS: "AAPL",
    NOTIFY_ALLOW_PRIVATE: "true",
    ACTOR_LEASE_MS: "1000",
  };
  try {
    let app = await startApp(env);
    const a = client(`http://127.0.0.1:${app.port}`);
    await a.call("GET", "/api/v1/channels");
    const hook = (await a.call("POST", "/api/v1/channels", { kind: "webhook", url: `${rx.url}/a` })).body;
    await rule(a, 199);
    await until(() => yahoo.open().some((c) => c.symbols.has("AAPL")), 20_000, "subscribed");
    const tick = ticker(yahoo);
    tick(200);
    tick(198);
    await until(() => rx.got.length === 1, 20_000, "first attempt reaches the receiver");
    const key = rx.got[0]!.headers["idempotency-key"];
    app.child.kill("SIGKILL");
    await app.finished;
    release(500);

    app = await startApp(env);
    try {
      // The queue hands an in-flight message back once its lease runs out (about a minute).
      await until(() => rx.got.length >= 2, 120_000, "delivery after restart");
      assert.equal(rx.got[1]!.headers["idempotency-key"], key);
      assert.equal(JSON.parse(rx.got[1]!.text).idempotencyKey, key);
      // The same user (cookie) on the restarted process.
      const again = client(`http://127.0.0.1:${app.port}`, a.cookie);
      await until(
        async () => {
          const list = (await again.call("GET", "/api/v1/notifications")).body.notifications;
          return list.length === 1 && list[0].status === "delivered";
        },
        10_000,
        "recorded as delivered",
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(new Set(rx.got.map((r) => r.headers["idempotency-key"])).size, 1, "one alert, one key");
      assert.equal(hook.id, key!.split(".").at(-1));
    } finally {
      app.child.kill("SIGTERM");
      await app.finished;
    }
  } finally {
    release(500);
    await rx.stop();
    await yahoo.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
