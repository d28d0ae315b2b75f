import assert from "node:assert/strict";
import { type Tick, tickSchema } from "../schema/tick.ts";
import { demoProfile, TRADING_YEAR_MS } from "./demo_market.ts";
import { MAX_CATCH_UP_MS, SyntheticFeed } from "./synthetic.ts";

/** Tuesday 2026-11-17, 10:00 New York time: a regular session. */
const TUESDAY_10AM = Date.UTC(2026, 10, 17, 15, 0);
/** Saturday 2026-11-21, 12:00 New York time. */
const SATURDAY = Date.UTC(2026, 10, 21, 17, 0);

/** Runs a feed on a virtual clock for `ms`, pumping every 50 ms; returns its ticks. */
function drive(
  opts: ConstructorParameters<typeof SyntheticFeed>[0] extends infer O ? Omit<O, "sink"> : never,
  symbols: string[],
  from: number,
  ms: number,
) {
  const ticks: Tick[] = [];
  let now = from;
  const feed = new SyntheticFeed({ ...opts, sink: { tick: (t) => ticks.push(t), reject: () => {} }, now: () => now });
  feed.setSymbols(symbols);
  feed.pump(now);
  for (let t = 50; t <= ms; t += 50) feed.pump(now = from + t);
  return { ticks, feed };
}

Deno.test("SyntheticFeed emits valid demo ticks for every symbol at the configured rate", () => {
  const { ticks } = drive({ ticksPerSecond: 400, seed: 7 }, ["AAA", "BBB", "CCC", "DDD"], TUESDAY_10AM, 1_000);
  assert.equal(ticks.length, 400);
  for (const t of ticks) tickSchema.parse(t);
  assert.ok(ticks.every((t) => t.source === "synthetic" && t.exchange === "DEMO" && t.marketHours === "regular"));
  assert.deepEqual(new Set(ticks.map((t) => t.symbol)), new Set(["AAA", "BBB", "CCC", "DDD"]));
  const aaa = ticks.filter((t) => t.symbol === "AAA");
  assert.ok(aaa.every((t, i) => i === 0 || t.dayVolume! > aaa[i - 1]!.dayVolume!), "day volume only grows");
  assert.ok(aaa.every((t, i) => i === 0 || t.time >= aaa[i - 1]!.time), "times only grow");
  assert.ok(aaa.every((t) => t.dayLow! <= t.price && t.price <= t.dayHigh!));
  // The same seed walks the same path.
  const again = drive({ ticksPerSecond: 400, seed: 7 }, ["AAA", "BBB", "CCC", "DDD"], TUESDAY_10AM, 1_000).ticks;
  assert.deepEqual(again.map((t) => t.price), ticks.map((t) => t.price));
});

/** Annualized volatility of 10-second log returns, pooled over symbols, each scaled by its profile's volatility. */
function realizedRatio(ticks: Tick[], from: number): number {
  const buckets = new Map<string, Map<number, number>>();
  for (const t of ticks) {
    let b = buckets.get(t.symbol);
    if (!b) buckets.set(t.symbol, b = new Map());
    b.set(Math.floor((t.time - from) / 10_000), t.price);
  }
  let sum = 0;
  let n = 0;
  for (const [symbol, b] of buckets) {
    const prices = [...b.entries()].sort((x, y) => x[0] - y[0]).map(([, p]) => p);
    const sigma10s = demoProfile(symbol).volatility * Math.sqrt(10_000 / TRADING_YEAR_MS);
    for (let i = 1; i < prices.length; i++) {
      const r = Math.log(prices[i]! / prices[i - 1]!) / sigma10s;
      sum += r * r;
      n++;
    }
  }
  return Math.sqrt(sum / n);
}

Deno.test("the demo's volatility is each symbol's profile, whatever the tick rate", () => {
  const symbols = Array.from({ length: 20 }, (_, i) => `V${i}`);
  // Prices in the thousands, so rounding to cents does not add noise to 10-second returns.
  const profile = (s: string) => ({ ...demoProfile(s), startPrice: 5_000 });
  const slow = drive({ ticksPerSecond: 50, seed: 3, profile }, symbols, TUESDAY_10AM, 600_000).ticks;
  const fast = drive({ ticksPerSecond: 2_500, seed: 3, profile }, symbols, TUESDAY_10AM, 600_000).ticks;
  const atSlow = realizedRatio(slow, TUESDAY_10AM);
  const atFast = realizedRatio(fast, TUESDAY_10AM);
  console.log(`realized / configured volatility: ${atSlow.toFixed(3)} at 50 ticks/s, ${atFast.toFixed(3)} at 2,500`);
  for (const r of [atSlow, atFast]) assert.ok(r > 0.85 && r < 1.15, `realized/configured ${r}`);
  for (const s of symbols) {
    const v = demoProfile(s).volatility;
    assert.ok(v >= 0.15 && v <= 0.6, `${s}: ${v}`);
  }
});

Deno.test("the demo follows the NYSE session: closed on a Saturday unless always open, labelled with the real session", () => {
  const closed = drive({ ticksPerSecond: 100, seed: 1 }, ["AAA"], SATURDAY, 1_000);
  assert.equal(closed.ticks.length, 0);
  const open = drive({ ticksPerSecond: 100, seed: 1, alwaysOpen: true }, ["AAA"], SATURDAY, 1_000);
  assert.equal(open.ticks.length, 100);
  assert.ok(open.ticks.every((t) => t.marketHours === "closed"));
  // Thanksgiving 2026 is a holiday.
  const thanksgiving = drive({ ticksPerSecond: 100, seed: 1 }, ["AAA"], Date.UTC(2026, 10, 26, 16, 0), 1_000);
  assert.equal(thanksgiving.ticks.length, 0);
});

Deno.test("the demo resumes from a stored quote with no jump, and a new session makes the last price the previous close", () => {
  const start = {
    price: 250.5,
    previousClose: 248,
    time: TUESDAY_10AM - 60_000,
    dayHigh: 252,
    dayLow: 247,
    dayVolume: 9_000,
  };
  const { ticks } = drive({ ticksPerSecond: 10, seed: 5, start: () => start }, ["AAA"], TUESDAY_10AM, 1_000);
  const first = ticks[0]!;
  assert.ok(Math.abs(Math.log(first.price / 250.5)) < 0.005, `first tick ${first.price} after 250.50`);
  assert.equal(first.previousClose, 248);
  assert.equal(first.dayHigh, 252);
  assert.ok(first.dayVolume! > 9_000);
  // Across New York midnight (always open): the day's fields start over from the last price.
  const lateNight = Date.UTC(2026, 10, 18, 4, 59, 59); // 23:59:59 in New York
  const night = drive({ ticksPerSecond: 10, seed: 5, alwaysOpen: true }, ["AAA"], lateNight, 2_000).ticks;
  const before = night.filter((t) => t.time < Date.UTC(2026, 10, 18, 5)).at(-1)!;
  const after = night.find((t) => t.time >= Date.UTC(2026, 10, 18, 5))!;
  assert.equal(after.previousClose, before.price);
  assert.ok(after.dayVolume! < before.dayVolume!);
});

Deno.test("a pump that comes late covers at most MAX_CATCH_UP_MS: a saturated process gets no burst", () => {
  const ticks: Tick[] = [];
  let now = TUESDAY_10AM;
  const feed = new SyntheticFeed({
    ticksPerSecond: 1_000,
    seed: 3,
    sink: { tick: (t) => ticks.push(t), reject: () => {} },
    now: () => now,
  });
  feed.setSymbols(["AAA", "BBB"]);
  feed.pump(now);
  feed.pump(now += 50);
  assert.equal(ticks.length, 50, "on time: the rate");
  // Ten seconds late (the event loop was blocked): a quarter second's worth, the newest, not ten seconds'.
  feed.pump(now += 10_000);
  assert.equal(ticks.length, 50 + MAX_CATCH_UP_MS);
  assert.ok(ticks.slice(50).every((t) => t.time === now), "stamped when they go out, not back over the late spell");
  feed.pump(now += 50);
  assert.equal(ticks.length, 50 + MAX_CATCH_UP_MS + 50, "and back to the rate");
});

Deno.test("each tick is stamped with the time its burst goes out, while the walk steps over the burst's spread", () => {
  const ticks: Tick[] = [];
  let now = TUESDAY_10AM + 0.6;
  const feed = new SyntheticFeed({
    ticksPerSecond: 2_000,
    seed: 11,
    sink: { tick: (t) => ticks.push(t), reject: () => {} },
    now: () => now,
  });
  feed.setSymbols(["AAA"]);
  feed.pump(now);
  for (let k = 1; k <= 4; k++) {
    const from = ticks.length;
    feed.pump(now += 50);
    // A burst of 100 ticks of one symbol: none older than the moment the hub gets it.
    assert.equal(ticks.length - from, 100);
    assert.ok(ticks.slice(from).every((t) => t.time === Math.floor(now)), `burst ${k} stamped ${Math.floor(now)}`);
  }
  // Stepped by 0.5 ms each, the path still moves tick by tick rather than once per burst.
  assert.ok(new Set(ticks.slice(0, 100).map((t) => t.price)).size > 1);
});
