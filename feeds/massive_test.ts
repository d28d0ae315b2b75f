import assert from "node:assert/strict";
import type { Tick } from "../schema/tick.ts";
import { type FakeMassive, startFakeMassive } from "../tests/fake_massive.ts";
import { until } from "../tests/wait.ts";
import { MassiveFeed, type MassiveFeedOptions, massivePreviousClose } from "./massive.ts";
import { RuleBook } from "../actors/rule_book.ts";
import { type ActorOutput, SymbolActor } from "../actors/symbol_actor.ts";
import { exchangeDay, exchangeDayRange } from "../schema/exchange.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";
import { previousDailyClose } from "../store/queries/candles.ts";
import { dailyRow } from "../store/rows.ts";
import { dropStore, openTestStore } from "../tests/embedded_store.ts";
import { createMassiveDecoder } from "./massive_decode.ts";

function setup(opts: Partial<MassiveFeedOptions> = {}) {
  const server = startFakeMassive("good-key");
  const ticks: Tick[] = [];
  const rejects: { reason: string; detail: string }[] = [];
  const feed = new MassiveFeed({
    url: server.url,
    apiKey: "good-key",
    decoder: createMassiveDecoder(),
    sink: { tick: (t) => ticks.push(t), reject: (reason, detail) => rejects.push({ reason, detail }) },
    backoffMinMs: 20,
    backoffMaxMs: 100,
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

const trade = (sym: string, p: number, s = 100) => ({ ev: "T", sym, x: 4, i: "1", z: 3, p, s, c: [0], t: Date.now() });

async function subscribed(server: FakeMassive, channels: string[]) {
  await until(() => server.open().some((c) => channels.every((ch) => c.channels.has(ch))), 5_000, "subscription");
}

Deno.test("MassiveFeed authenticates, then subscribes to trades, quotes and per-second aggregates", async () => {
  await using s = setup();
  s.feed.setSymbols(["AAPL", "MSFT"]);
  s.feed.start();
  await subscribed(s.server, ["T.AAPL", "Q.AAPL", "A.AAPL", "T.MSFT", "Q.MSFT", "A.MSFT"]);
  const sent = s.server.clients[0]!.messages;
  assert.deepEqual(sent[0], { action: "auth", params: "good-key" });
  assert.deepEqual(sent[1], { action: "subscribe", params: "T.AAPL,Q.AAPL,A.AAPL,T.MSFT,Q.MSFT,A.MSFT" });
  const now = Date.now();
  s.server.send([trade("AAPL", 190.25, 50), {
    ev: "A",
    sym: "MSFT",
    v: 10,
    av: 5000,
    op: 410,
    o: 411,
    h: 412,
    l: 410.5,
    c: 411.5,
    s: now - 1000,
    e: now,
  }]);
  await until(() => s.ticks.length === 2);
  assert.deepEqual(s.ticks.map((t) => [t.symbol, t.price, t.source, t.lastSize, t.dayVolume]), [
    ["AAPL", 190.25, "massive", 50, undefined],
    ["MSFT", 411.5, "massive", undefined, 5000],
  ]);
  assert.equal(s.feed.status().state, "live");
  assert.ok(s.feed.status().lastTickAt! >= now);
});

Deno.test("MassiveFeed stops on a rejected key with the reason in its status, without reconnecting", async () => {
  await using s = setup({ apiKey: "wrong-key" });
  s.feed.setSymbols(["AAPL"]);
  s.feed.start();
  await until(() => s.feed.status().state === "error", 5_000, "error state");
  const status = s.feed.status();
  assert.match(status.error ?? "", /rejected the API key \(authentication failed\)/);
  // Backoff is 20 ms here: a reconnect storm would show up as many connections within half a second.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(s.feed.connects, 1);
  assert.equal(s.server.clients.length, 1);
  assert.deepEqual(s.rejects.map((r) => r.reason), ["auth_failed"]);
});

Deno.test("MassiveFeed reconnects after a drop mid-stream, re-authenticates and resubscribes", async () => {
  await using s = setup();
  s.feed.setSymbols(["AAPL"]);
  s.feed.start();
  await subscribed(s.server, ["T.AAPL"]);
  s.server.send([trade("AAPL", 190)]);
  await until(() => s.ticks.length === 1);
  s.server.dropAll();
  await until(() => s.server.clients.length === 2 && s.server.clients[1]!.channels.has("A.AAPL"), 5_000, "resubscribe");
  assert.deepEqual(s.server.clients[1]!.messages.map((m) => m.action), ["auth", "subscribe"]);
  s.server.send([trade("AAPL", 191)]);
  await until(() => s.ticks.length === 2);
  assert.equal(s.ticks[1]!.price, 191);
  assert.ok(s.rejects.some((r) => r.reason === "disconnected"));
});

Deno.test("MassiveFeed changes its subscription at run time on the same connection", async () => {
  await using s = setup();
  s.feed.setSymbols(["AAPL", "MSFT"]);
  s.feed.start();
  await subscribed(s.server, ["T.AAPL", "T.MSFT"]);
  s.feed.setSymbols(["MSFT", "NVDA"]);
  await until(() => s.server.clients[0]!.channels.has("A.NVDA") && !s.server.clients[0]!.channels.has("T.AAPL"));
  const sent = s.server.clients[0]!.messages.slice(2);
  assert.deepEqual(sent, [
    { action: "unsubscribe", params: "T.AAPL,Q.AAPL,A.AAPL" },
    { action: "subscribe", params: "T.NVDA,Q.NVDA,A.NVDA" },
  ]);
  assert.equal(s.server.clients.length, 1);
});

Deno.test("MassiveFeed reconnects a stalled stream during market hours and counts bad frames", async () => {
  await using s = setup({ silenceMs: 150, marketActive: () => true });
  s.feed.setSymbols(["AAPL"]);
  s.feed.start();
  await subscribed(s.server, ["T.AAPL"]);
  s.server.raw("garbage");
  s.server.send([{ ev: "T", sym: "AAPL", p: Number.MAX_VALUE * 0, s: 1, t: Date.now() }]);
  // Nothing more is sent: the watchdog must drop and reopen the connection.
  await until(() => s.server.clients.length >= 2, 5_000, "reconnect after silence");
  const reasons = s.rejects.map((r) => r.reason);
  assert.ok(
    reasons.includes("not_json") && reasons.includes("bad_price") && reasons.includes("silent_stream"),
    String(reasons),
  );
  await subscribed(s.server, ["T.AAPL"]);
  s.server.send([trade("AAPL", 190)]);
  await until(() => s.ticks.length === 1);
});

Deno.test("MassiveFeed measures the day's change from the stored previous close: 200 to 179 raises the drop alert", async () => {
  const store = await openTestStore();
  const kv = await Deno.openKv(":memory:");
  const rules = await RuleBook.open(kv, -5);
  try {
    await migrate(store, await loadMigrations());
    const today = exchangeDay(Date.now());
    // Yesterday's close is stored; the stream itself carries no previous close.
    await store.insert("candles_1d", [
      dailyRow(
        "AAPL",
        { time: today - 86_400_000, open: 198, high: 201, low: 197, close: 200, volume: 1e6 },
        "massive",
        1,
      ),
    ]);
    await using s = setup({ previousClose: (symbol, day) => previousDailyClose(store, symbol, day) });
    s.feed.setSymbols(["AAPL"]);
    s.feed.start();
    await subscribed(s.server, ["T.AAPL"]);
    // The lookup is asked when the symbol is added; ticks after its answer carry it.
    await until(
      () => {
        s.server.send([trade("AAPL", 179)]);
        return s.ticks.some((t) => t.previousClose === 200);
      },
      10_000,
      "a tick with the previous close",
    );
    const actor = new SymbolActor("AAPL");
    const out = { alerts: [], candles: [] } as ActorOutput;
    actor.onTick(s.ticks.findLast((t) => t.previousClose === 200)!, rules.forSymbol("AAPL"), out, Date.now());
    assert.equal(actor.quote!.changePercent, -10.5);
    assert.equal(out.alerts.length, 1, "the built-in drop alert fires");
    assert.match(out.alerts[0]!.message, /AAPL is down 10\.5% today/);
  } finally {
    rules.close();
    kv.close();
    await dropStore(store);
  }
});

Deno.test("MassiveFeed falls back to Massive's previous-close endpoint when no daily candle is stored", async () => {
  const today = exchangeDay(Date.now());
  const requests: string[] = [];
  // Massive's /v2/aggs/ticker/{ticker}/prev answer.
  const rest = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    requests.push(new URL(req.url).pathname + new URL(req.url).search);
    return Response.json({
      ticker: "MSFT",
      queryCount: 1,
      resultsCount: 1,
      adjusted: true,
      results: [{
        T: "MSFT",
        v: 2.1e7,
        vw: 415.2,
        o: 412,
        c: 415.5,
        h: 417,
        l: 411,
        t: exchangeDayRange(today - 86_400_000).start,
        n: 300000,
      }],
      status: "OK",
      request_id: "6a7e466379af0a71039d60cc78e72282",
      count: 1,
    });
  });
  try {
    const lookup = massivePreviousClose(
      `http://127.0.0.1:${rest.addr.port}`,
      "good-key",
      () => Promise.resolve(undefined),
    );
    assert.equal(await lookup("MSFT", today), 415.5);
    assert.match(requests[0]!, /^\/v2\/aggs\/ticker\/MSFT\/prev\?adjusted=true&apiKey=good-key$/);
    // A close from the same day (the endpoint answered after the session) is not that day's previous close.
    assert.equal(await lookup("MSFT", today - 86_400_000), undefined);
  } finally {
    await rest.shutdown();
  }
});
