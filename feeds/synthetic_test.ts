import assert from "node:assert/strict";
import { type Tick, tickSchema } from "../schema/tick.ts";
import { SyntheticFeed } from "./synthetic.ts";

Deno.test("SyntheticFeed emits valid synthetic ticks for every symbol at about the configured rate", async () => {
  const ticks: Tick[] = [];
  const feed = new SyntheticFeed({
    sink: { tick: (t) => ticks.push(t), reject: () => {} },
    ticksPerSecond: 400,
    seed: 7,
  });
  feed.setSymbols(["AAA", "BBB", "CCC", "DDD"]);
  feed.start();
  await new Promise((r) => setTimeout(r, 1_000));
  await feed.stop();
  assert.ok(ticks.length >= 250 && ticks.length <= 450, `ticks in 1 s at 400/s: ${ticks.length}`);
  for (const t of ticks) tickSchema.parse(t);
  assert.ok(ticks.every((t) => t.source === "synthetic"));
  assert.deepEqual(new Set(ticks.map((t) => t.symbol)), new Set(["AAA", "BBB", "CCC", "DDD"]));
  const aaa = ticks.filter((t) => t.symbol === "AAA");
  assert.ok(aaa.every((t, i) => i === 0 || t.dayVolume! > aaa[i - 1]!.dayVolume!), "day volume only grows");
  assert.ok(aaa.every((t) => t.dayLow! <= t.price && t.price <= t.dayHigh!));
  assert.equal(feed.status().state, "stopped");
});

Deno.test("SyntheticFeed's walk has the configured volatility and repeats for a seed", async () => {
  const run = async () => {
    const prices: number[] = [];
    const feed = new SyntheticFeed({
      sink: { tick: (t) => prices.push(t.price), reject: () => {} },
      ticksPerSecond: 2_000,
      dailyVolatility: 0.5,
      jumpProbability: 0,
      seed: 99,
      now: () => 1_763_650_800_000,
    });
    feed.setSymbols(["ONE"]);
    feed.start();
    await new Promise((r) => setTimeout(r, 300));
    await feed.stop();
    return prices;
  };
  const a = await run();
  const b = await run();
  const n = Math.min(a.length, b.length);
  assert.deepEqual(a.slice(0, n), b.slice(0, n), "same seed, same walk");
  const returns = a.slice(1).map((p, i) => Math.log(p / a[i]!));
  const sd = Math.sqrt(returns.reduce((s, r) => s + r * r, 0) / returns.length);
  const expected = 0.5 / Math.sqrt(2_000 * 23_400);
  assert.ok(sd > expected * 0.5 && sd < expected * 3, `per-tick sd ${sd} vs ${expected}`);
});
