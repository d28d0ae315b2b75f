import assert from "node:assert/strict";
import { ConfigError, DEFAULT_SYMBOLS, isCronExpression, parseEnv } from "./env.ts";

Deno.test("parseEnv gives the contract's defaults for an empty environment", () => {
  const c = parseEnv({});
  assert.equal(c.port, 8000);
  assert.equal(c.dataDir, "./data");
  assert.deepEqual(c.clickhouse, { user: "default", password: "", database: "breadboard" });
  assert.equal(c.feed, "yahoo");
  assert.equal(c.yahoo.wsUrl, "wss://streamer.finance.yahoo.com/?version=2");
  assert.equal(c.yahoo.apiBase, undefined);
  assert.equal(c.massive.apiKey, undefined);
  assert.deepEqual(c.symbols, [...DEFAULT_SYMBOLS]);
  assert.equal(c.alertThreshold, -5);
  assert.equal(c.historicalFetchCron, "0 0,6,12,18 * * *");
  assert.deepEqual(c.notify, {
    smtpFrom: "Breadboard <breadboard@localhost>",
    allowPrivate: false,
    maxAttempts: 6,
    retryMs: 2_000,
    vapidSubject: "mailto:breadboard@localhost",
  });
});

Deno.test("parseEnv reads the notification settings", () => {
  const c = parseEnv({
    SMTP_URL: "smtps://bb:pw@mail.example.com:465",
    SMTP_FROM: "Alerts <alerts@example.com>",
    NATS_URL: "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
    NOTIFY_ALLOW_PRIVATE: "true",
    NOTIFY_MAX_ATTEMPTS: "3",
    NOTIFY_RETRY_MS: "500",
    VAPID_SUBJECT: "https://breadboard.example.com/contact",
  });
  assert.deepEqual(c.notify, {
    smtpUrl: "smtps://bb:pw@mail.example.com:465",
    smtpFrom: "Alerts <alerts@example.com>",
    natsUrl: "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
    allowPrivate: true,
    maxAttempts: 3,
    retryMs: 500,
    vapidSubject: "https://breadboard.example.com/contact",
  });
});

Deno.test("parseEnv reads every variable of the contract", () => {
  const c = parseEnv({
    PORT: "9100",
    DATA_DIR: "/var/lib/breadboard",
    CLICKHOUSE_URL: "https://ch.example.com:8443",
    CLICKHOUSE_USER: "bb",
    CLICKHOUSE_PASSWORD: "s3cret",
    CLICKHOUSE_DATABASE: "prices",
    FEED: "synthetic",
    YAHOO_WS_URL: "ws://127.0.0.1:9999/",
    YAHOO_API_BASE: "http://127.0.0.1:9998",
    MASSIVE_WS_URL: "ws://127.0.0.1:9997/stocks",
    MASSIVE_API_BASE: "http://127.0.0.1:9996",
    SYMBOLS: " aapl, brk.b ,^GSPC,BTC-USD,EURUSD=X,AAPL ",
    ALERT_THRESHOLD: "-2.5",
    HISTORICAL_FETCH_CRON: "*/15 9-16 * * 1-5",
  });
  assert.equal(c.port, 9100);
  assert.equal(c.dataDir, "/var/lib/breadboard");
  assert.deepEqual(c.clickhouse, {
    url: "https://ch.example.com:8443",
    user: "bb",
    password: "s3cret",
    database: "prices",
  });
  assert.equal(c.feed, "synthetic");
  assert.deepEqual(c.yahoo, { wsUrl: "ws://127.0.0.1:9999/", apiBase: "http://127.0.0.1:9998" });
  assert.deepEqual(c.massive, { wsUrl: "ws://127.0.0.1:9997/stocks", apiBase: "http://127.0.0.1:9996" });
  assert.deepEqual(c.symbols, ["AAPL", "BRK.B", "^GSPC", "BTC-USD", "EURUSD=X"], "upper-cased, trimmed, de-duplicated");
  assert.equal(c.alertThreshold, -2.5);
  assert.equal(c.historicalFetchCron, "*/15 9-16 * * 1-5");
});

Deno.test("POLYGON_API_KEY is read as the Massive key, and MASSIVE_API_KEY wins over it", () => {
  assert.equal(parseEnv({ POLYGON_API_KEY: "old" }).massive.apiKey, "old");
  assert.equal(parseEnv({ POLYGON_API_KEY: "old", MASSIVE_API_KEY: "new" }).massive.apiKey, "new");
});

Deno.test("a Massive key selects the Massive feed unless FEED says otherwise; FEED=massive needs a key", () => {
  assert.equal(parseEnv({}).feed, "yahoo");
  assert.equal(parseEnv({ MASSIVE_API_KEY: "k" }).feed, "massive");
  assert.equal(parseEnv({ POLYGON_API_KEY: "k" }).feed, "massive");
  assert.equal(parseEnv({ MASSIVE_API_KEY: "k", FEED: "yahoo" }).feed, "yahoo");
  assert.throws(() => parseEnv({ FEED: "massive" }), /FEED=massive needs MASSIVE_API_KEY/);
});

Deno.test("KV_PATH defaults to the KV file in DATA_DIR; ACTOR_LEASE_MS to 15 s", () => {
  assert.equal(parseEnv({}).kvPath, "./data/kv.sqlite3");
  assert.equal(parseEnv({ DATA_DIR: "/srv/bb/" }).kvPath, "/srv/bb/kv.sqlite3");
  assert.equal(parseEnv({ KV_PATH: "/shared/kv.sqlite3" }).kvPath, "/shared/kv.sqlite3");
  assert.equal(parseEnv({}).actorLeaseMs, 15_000);
  assert.equal(parseEnv({ ACTOR_LEASE_MS: "2000" }).actorLeaseMs, 2_000);
});

Deno.test("FEED=replay needs REPLAY_FILE; REPLAY_SPEED and RECORD_FILE are read", () => {
  assert.throws(() => parseEnv({ FEED: "replay" }), /FEED=replay needs REPLAY_FILE/);
  const c = parseEnv({ FEED: "replay", REPLAY_FILE: "/tmp/f.jsonl", REPLAY_SPEED: "10", RECORD_FILE: "/tmp/r" });
  assert.deepEqual(c.replay, { file: "/tmp/f.jsonl", speed: 10 });
  assert.equal(c.recordFile, "/tmp/r");
  assert.deepEqual(parseEnv({}).replay, { speed: 1 });
});

Deno.test("an empty variable counts as unset", () => {
  assert.equal(parseEnv({ PORT: "", CLICKHOUSE_URL: "  " }).port, 8000);
  assert.equal(parseEnv({ CLICKHOUSE_URL: "" }).clickhouse.url, undefined);
});

for (
  const [name, value, allowed] of [
    ["PORT", "abc", /PORT must be an integer from 0 to 65535 \(got "abc"\)/],
    ["PORT", "65536", /PORT must be an integer from 0 to 65535/],
    ["PORT", "-1", /PORT must be/],
    ["SYMBOLS", ";DROP", /SYMBOLS must be a comma-separated list of ticker symbols .* \(got ";DROP"\)/],
    ["SYMBOLS", "AAPL,../etc", /SYMBOLS must be/],
    ["SYMBOLS", ",,", /SYMBOLS must be/],
    ["CLICKHOUSE_URL", "not-a-url", /CLICKHOUSE_URL must be an http:\/\/ or https:\/\/ URL \(got "not-a-url"\)/],
    ["CLICKHOUSE_URL", "file:///etc/passwd", /CLICKHOUSE_URL must be an http/],
    ["CLICKHOUSE_DATABASE", "bread-board", /CLICKHOUSE_DATABASE must be a plain identifier/],
    ["FEED", "bloomberg", /FEED must be one of yahoo, massive, synthetic, replay/],
    ["YAHOO_WS_URL", "https://streamer.finance.yahoo.com", /YAHOO_WS_URL must be a ws:\/\/ or wss:\/\/ URL/],
    ["YAHOO_API_BASE", "nope", /YAHOO_API_BASE must be an http/],
    ["ALERT_THRESHOLD", "5", /ALERT_THRESHOLD must be a percentage between -100 and 0/],
    ["ALERT_THRESHOLD", "-5%", /ALERT_THRESHOLD must be/],
    ["HISTORICAL_FETCH_CRON", "every 6 hours", /HISTORICAL_FETCH_CRON must be a five-field cron expression/],
    ["REPLAY_SPEED", "fast", /REPLAY_SPEED must be a speed-up factor/],
    ["ACTOR_LEASE_MS", "10", /ACTOR_LEASE_MS must be milliseconds, an integer from 300 to 600000/],
    ["REPLAY_SPEED", "-2", /REPLAY_SPEED must be/],
    ["SMTP_URL", "http://mail.example.com", /SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/],
    ["NATS_URL", "nats://a b", /NATS_URL must be a NATS server address/],
    ["NOTIFY_ALLOW_PRIVATE", "yes", /NOTIFY_ALLOW_PRIVATE must be true or false/],
    ["NOTIFY_MAX_ATTEMPTS", "0", /NOTIFY_MAX_ATTEMPTS must be an integer from 1 to 20/],
    ["VAPID_SUBJECT", "ops", /VAPID_SUBJECT must be a mailto: address or an https:\/\/ URL/],
  ] as const
) {
  Deno.test(`parseEnv rejects ${name}=${JSON.stringify(value)} in one line naming the variable`, () => {
    assert.throws(() => parseEnv({ [name]: value }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, allowed);
      assert.ok(e.message.startsWith("invalid configuration: "));
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  });
}

Deno.test("parseEnv names every bad variable at once", () => {
  assert.throws(
    () => parseEnv({ PORT: "abc", FEED: "x" }),
    (e: unknown) => e instanceof ConfigError && /PORT must be/.test(e.message) && /FEED must be/.test(e.message),
  );
});

Deno.test("isCronExpression accepts five-field cron and rejects the rest", () => {
  for (const ok of ["0 0,6,12,18 * * *", "*/5 * * * *", "0 9-16/2 * 1-12 1-5", "30 14 1 1 0", "0 0 * * 7"]) {
    assert.ok(isCronExpression(ok), ok);
  }
  for (
    const bad of [
      "",
      "* * * *",
      "* * * * * *",
      "60 * * * *",
      "0 24 * * *",
      "0 0 0 * *",
      "0 0 * 13 *",
      "5-1 * * * *",
      "*/0 * * * *",
      "a b c d e",
    ]
  ) {
    assert.ok(!isCronExpression(bad), bad);
  }
});
