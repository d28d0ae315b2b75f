import assert from "node:assert/strict";
import type { Tick } from "../schema/tick.ts";
import { type FakeYahoo, startFakeYahoo } from "../tests/fake_yahoo.ts";
import { backoffDelay } from "./feed.ts";
import { YahooFeed, type YahooFeedOptions } from "./yahoo.ts";
import { createYahooDecoder } from "./yahoo_decode.ts";
import { until } from "../tests/wait.ts";

const decoder = await createYahooDecoder();

function setup(opts: Partial<YahooFeedOptions> = {}) {
  const server = startFakeYahoo(decoder);
  const ticks: Tick[] = [];
  const rejects: string[] = [];
  const feed = new YahooFeed({
    url: server.url,
    decoder,
    sink: { tick: (t) => ticks.push(t), reject: (reason) => rejects.push(reason) },
    backoffMinMs: 20,
    backoffMaxMs: 200,
    ...opts,
  });
  return {
    server,
    feed,
    ticks,
    rejects,
    async [Symbol.asyncDispose]() {
      await feed.stop();
      await server.stop();
    },
  };
}

const quote = (id: string, price: number) => ({
  id,
  price,
  time: Date.now(),
  quoteType: 8,
  marketHours: 1,
  priceHint: 2,
});

async function subscribed(server: FakeYahoo, symbols: string[]) {
  await until(() => server.open().some((c) => symbols.every((s) => c.symbols.has(s))), 5_000, "subscription");
}

Deno.test("YahooFeed subscribes and turns enveloped and bare frames into ticks", async () => {
  await using s = setup();
  s.feed.setSymbols(["AAPL", "MSFT"]);
  s.feed.start();
  await subscribed(s.server, ["AAPL", "MSFT"]);
  assert.deepEqual(s.server.clients[0]!.messages[0], { subscribe: ["AAPL", "MSFT"] });
  s.server.price(quote("AAPL", 307.2));
  s.server.price(quote("MSFT", 512.25), { bare: true });
  await until(() => s.ticks.length === 2);
  assert.deepEqual(s.ticks.map((t) => [t.symbol, t.price, t.source]), [["AAPL", 307.2, "yahoo"], [
    "MSFT",
    512.25,
    "yahoo",
  ]]);
  assert.equal(s.feed.status().state, "live");
  assert.ok(s.feed.status().lastTickAt !== null);
});

Deno.test("YahooFeed reconnects after a drop mid-stream and subscribes again", async () => {
  await using s = setup();
  s.feed.setSymbols(["TSLA"]);
  s.feed.start();
  await subscribed(s.server, ["TSLA"]);
  s.server.price(quote("TSLA", 400));
  await until(() => s.ticks.length === 1);
  s.server.dropAll();
  await until(() => s.server.clients.length === 2 && s.server.open().length === 1, 5_000, "reconnect");
  await subscribed(s.server, ["TSLA"]);
  s.server.price(quote("TSLA", 401));
  await until(() => s.ticks.length === 2);
  assert.equal(s.ticks[1]!.price, 401);
});

Deno.test("YahooFeed treats a silent stream during market hours as dead and reconnects", async () => {
  await using s = setup({ silenceMs: 150, marketActive: () => true });
  s.feed.setSymbols(["NVDA"]);
  s.feed.start();
  await subscribed(s.server, ["NVDA"]);
  await until(() => s.server.clients.length >= 2, 3_000, "reconnect after silence");
  assert.ok(s.rejects.includes("silent_stream"));
});

Deno.test("YahooFeed leaves a quiet stream alone outside market hours", async () => {
  await using s = setup({ silenceMs: 100, marketActive: () => false });
  s.feed.setSymbols(["NVDA"]);
  s.feed.start();
  await subscribed(s.server, ["NVDA"]);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(s.server.clients.length, 1);
});

Deno.test("a server that closes on subscribe gets retries spaced by growing backoff, not a storm", async () => {
  await using s = setup({ backoffMinMs: 50, backoffMaxMs: 400 });
  s.server.closeOnSubscribe = true;
  s.feed.setSymbols(["META"]);
  s.feed.start();
  await new Promise((r) => setTimeout(r, 1_500));
  const attempts = s.server.clients.length;
  // Delays of 25-50, 50-100, 100-200, then 200-400 ms: about 5-9 attempts in 1.5 s; without backoff, hundreds.
  assert.ok(attempts >= 3 && attempts <= 12, `attempts: ${attempts}`);
  assert.equal(s.feed.status().state, "reconnecting");
});

Deno.test("symbols added and removed at run time use the open connection without reconnecting", async () => {
  await using s = setup();
  s.feed.setSymbols(["AAPL"]);
  s.feed.start();
  await subscribed(s.server, ["AAPL"]);
  s.feed.setSymbols(["AAPL", "AMZN"]);
  await subscribed(s.server, ["AAPL", "AMZN"]);
  s.feed.setSymbols(["AMZN"]);
  await until(() => !s.server.clients[0]!.symbols.has("AAPL"));
  assert.equal(s.server.clients.length, 1);
  assert.deepEqual(s.server.clients[0]!.messages, [{ subscribe: ["AAPL"] }, { subscribe: ["AMZN"] }, {
    unsubscribe: ["AAPL"],
  }]);
});

Deno.test("the subscription is re-sent periodically", async () => {
  await using s = setup({ resubscribeMs: 100 });
  s.feed.setSymbols(["GOOGL"]);
  s.feed.start();
  await until(() => (s.server.clients[0]?.messages.length ?? 0) >= 3, 3_000, "resubscriptions");
  assert.ok(s.server.clients[0]!.messages.every((m) => JSON.stringify(m) === '{"subscribe":["GOOGL"]}'));
});

Deno.test("2,500 symbols are spread over 25 connections of at most 100 symbols", async () => {
  await using s = setup();
  const symbols = Array.from({ length: 2_500 }, (_, i) => `S${i}`);
  s.feed.setSymbols(symbols);
  s.feed.start();
  await until(() => s.server.open().length === 25 && s.server.open().every((c) => c.symbols.size === 100), 10_000);
  const all = new Set(s.server.open().flatMap((c) => [...c.symbols]));
  assert.equal(all.size, 2_500);
  s.server.price(quote("S1234", 10));
  await until(() => s.ticks.length === 1);
  s.feed.setSymbols(symbols.slice(0, 150));
  await until(() => s.server.open().length === 2, 5_000, "empty connections closed");
});

Deno.test("bad frames are rejected by reason and the stream goes on", async () => {
  await using s = setup();
  s.feed.setSymbols(["AAPL"]);
  s.feed.start();
  await subscribed(s.server, ["AAPL"]);
  s.server.raw("{not json");
  s.server.raw("%%%");
  s.server.raw(JSON.stringify({ type: "pricing", message: "AAAA" }));
  s.server.price({ ...quote("AAPL", 1), price: -5 });
  s.server.price(quote("AAPL", 300));
  await until(() => s.ticks.length === 1);
  assert.deepEqual(s.rejects, ["not_json", "bad_base64", "bad_protobuf", "bad_price"]);
  assert.equal(s.ticks[0]!.price, 300);
});

Deno.test("backoffDelay grows exponentially to its cap with jitter in the upper half", () => {
  assert.equal(backoffDelay(0, 100, 10_000, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 10_000, () => 1), 100);
  assert.equal(backoffDelay(3, 100, 10_000, () => 1), 800);
  assert.equal(backoffDelay(20, 100, 10_000, () => 1), 10_000);
  assert.equal(backoffDelay(20, 100, 10_000, () => 0), 5_000);
});
