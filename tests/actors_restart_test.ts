import assert from "node:assert/strict";
import { RuleBook } from "../actors/rule_book.ts";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { type AppProcess, spawnApp, startApp } from "./app_process.ts";
import { type FakeYahoo, startFakeYahoo } from "./fake_yahoo.ts";
import { until } from "./wait.ts";

const decoder = await createYahooDecoder();
const SYMBOLS = ["AAA", "BBB"];

/** Prints per step, all stamped with the step's millisecond (a busy symbol trades many times per ms). */
const PRINTS = 3;

/**
 * 600 steps, 4 s apart and alternating symbols, from a minute boundary 45 minutes ago: swings that cross the rules
 * again and again. Minute 20 (steps 300-314) holds AAA's crossing of 103. Each step is {@link PRINTS} trades at one
 * millisecond with rising prices and day volume, so the ticks an actor's snapshot holds share its last time.
 */
function sequence() {
  const start = Math.floor((Date.now() - 45 * 60_000) / 60_000) * 60_000;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 600; i++) {
    const symbol = SYMBOLS[i % 2]!;
    const base = symbol === "AAA" ? 100 : 50;
    let price = Math.round(base * (1 + 0.04 * Math.sin(i / 40) - 0.03 * Math.sin(i / 7)) * 100) / 100;
    if (symbol === "AAA" && i >= 296 && i < 300) price = 101;
    if (symbol === "AAA" && i >= 302 && i < 315) price = 103.5 + (i - 302) / 10;
    for (let p = 0; p < PRINTS; p++) {
      out.push({
        id: symbol,
        price: Math.round((price + p * 0.01) * 100) / 100,
        time: start + i * 4_000,
        quoteType: 8,
        marketHours: 1,
        priceHint: 2,
        previousClose: base * 1.02,
        dayVolume: 1_000 + (i * PRINTS + p) * 37,
        lastSize: 37,
      });
    }
  }
  return out;
}

/** The ticks of steps [from, to). */
const steps = (ticks: Record<string, unknown>[], from: number, to = ticks.length / PRINTS) =>
  ticks.slice(from * PRINTS, to * PRINTS);

async function prepare(dataDir: string) {
  const kv = await Deno.openKv(`${dataDir}/kv.sqlite3`);
  const book = await RuleBook.open(kv);
  for (const s of SYMBOLS) {
    await book.put({
      id: `drop-${s}`,
      symbol: s,
      kind: "pct_change",
      direction: "drop",
      percent: 3,
      window: "5m",
      cooldownMs: 0,
    });
    await book.put({
      id: `rise-${s}`,
      symbol: s,
      kind: "pct_change",
      direction: "rise",
      percent: 3,
      window: "15m",
      cooldownMs: 60_000,
    });
    await book.put({
      id: `above-${s}`,
      symbol: s,
      kind: "price_above",
      price: s === "AAA" ? 103 : 51.5,
      cooldownMs: 0,
    });
  }
  book.close();
  kv.close();
}

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

async function run(yahoo: FakeYahoo, dataDir: string): Promise<AppProcess & { port: number }> {
  const app = await startApp({ DATA_DIR: dataDir, YAHOO_WS_URL: yahoo.url, SYMBOLS: SYMBOLS.join(",") });
  await until(() => yahoo.open().some((c) => SYMBOLS.every((s) => c.symbols.has(s))), 20_000, "subscription");
  return app;
}

async function send(yahoo: FakeYahoo, app: { port: number }, ticks: Record<string, unknown>[], storedTarget: number) {
  for (const t of ticks) yahoo.price(t);
  await until(
    async () => {
      const text = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
      return metric(text, "breadboard_ticks_stored") >= storedTarget;
    },
    30_000,
    `${storedTarget} ticks stored`,
  );
}

const alertLines = (lines: string[]) => lines.filter((l) => l.includes('"msg":"alert"')).map((l) => JSON.parse(l).id);

async function dump(dataDir: string) {
  const p = spawnApp({}, "tests/fixtures/dump_actor_state.ts", [dataDir, "breadboard"]);
  const { code, stderr } = await p.finished;
  assert.equal(code, 0, stderr);
  return JSON.parse(p.stdout.at(-1)!);
}

Deno.test("actors killed with -9 midway and restarted end with the same candles, windows, rules and alerts", async () => {
  const ticks = sequence();
  const yahoo = startFakeYahoo(decoder);
  const whole = await Deno.makeTempDir({ prefix: "breadboard-actors-a-" });
  const killed = await Deno.makeTempDir({ prefix: "breadboard-actors-b-" });
  try {
    // Uninterrupted run.
    await prepare(whole);
    const a = await run(yahoo, whole);
    await send(yahoo, a, ticks, ticks.length);
    a.child.kill("SIGTERM");
    assert.equal((await a.finished).code, 0);
    const wholeAlerts = alertLines(a.stdout);
    const expected = await dump(whole);

    // The same ticks, with a kill -9 inside minute 20: the first ticks of that minute close minute 19 and the actors
    // snapshot; the 12 ticks after them (AAA's crossing among them) are processed and stored but in no snapshot.
    await prepare(killed);
    const b1 = await run(yahoo, killed);
    await send(yahoo, b1, steps(ticks, 0, 302), 302 * PRINTS);
    await new Promise((r) => setTimeout(r, 2_500)); // two checkpoints: minute 19's snapshot is written
    const snapshotsBefore = metric(
      await (await fetch(`http://127.0.0.1:${b1.port}/metrics`)).text(),
      "breadboard_actor_snapshots_total",
    );
    assert.ok(snapshotsBefore >= 2, `snapshots before the tail: ${snapshotsBefore}`);
    await send(yahoo, b1, steps(ticks, 302, 314), 314 * PRINTS);
    await until(
      () => alertLines(b1.stdout).length > 0 && b1.stdout.some((l) => l.includes("rose above 103.00")),
      10_000,
      "the tail's alert",
    );
    const after = await (await fetch(`http://127.0.0.1:${b1.port}/metrics`)).text();
    assert.equal(metric(after, "breadboard_actor_snapshots_total"), snapshotsBefore, "the tail is in no snapshot");
    b1.child.kill("SIGKILL");
    await b1.finished;
    const b2 = await run(yahoo, killed);
    await send(yahoo, b2, steps(ticks, 314), ticks.length - 314 * PRINTS);
    const b2Metrics = await (await fetch(`http://127.0.0.1:${b2.port}/metrics`)).text();
    assert.ok(metric(b2Metrics, "breadboard_alerts_replayed_total") >= 1, "the tail's crossing was replayed");
    b2.child.kill("SIGTERM");
    assert.equal((await b2.finished).code, 0);
    const got = await dump(killed);

    assert.ok(expected.candles.length >= 70, `candles: ${expected.candles.length}`);
    assert.ok(expected.alerts.length >= 6, `alerts: ${expected.alerts.length}`);
    // Trades and volume of every candle, the one spanning the restart included: each tick was consumed once.
    const tradesAndVolume = (cs: { symbol: string; t: number; trades: number; volume: number }[]) =>
      cs.map((c) => `${c.symbol} ${c.t} trades=${c.trades} volume=${c.volume}`);
    assert.deepEqual(tradesAndVolume(got.candles), tradesAndVolume(expected.candles));
    assert.ok(expected.candles.every((c: { trades: number }) => c.trades % PRINTS === 0), "whole steps per candle");
    assert.deepEqual(got.candles, expected.candles);
    assert.deepEqual(got.alerts, expected.alerts);
    assert.deepEqual(Object.keys(got.snapshots).sort(), SYMBOLS);
    assert.deepEqual(got.snapshots, expected.snapshots);
    // Published once each: the restarted process replayed some crossings but did not publish them again.
    const published = [...alertLines(b1.stdout), ...alertLines(b2.stdout)];
    assert.deepEqual(published.toSorted(), wholeAlerts.toSorted());
    assert.equal(new Set(published).size, published.length, "no alert published twice");
  } finally {
    await yahoo.stop();
    await Deno.remove(whole, { recursive: true });
    await Deno.remove(killed, { recursive: true });
  }
});
