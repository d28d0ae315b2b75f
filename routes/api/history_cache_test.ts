import assert from "node:assert/strict";
import { HistoryCache } from "./history_cache.ts";

const candle = (time: number) => ({ time, open: 1, high: 1, low: 1, close: 1, volume: 1 });

Deno.test("HistoryCache shares one query among concurrent identical requests and serves repeats from memory", async () => {
  const cache = new HistoryCache();
  let queries = 0;
  let release: () => void = () => {};
  const load = () => {
    queries++;
    return new Promise<ReturnType<typeof candle>[]>((r) => release = () => r([candle(0), candle(60_000)]));
  };
  const many = Array.from({ length: 20 }, () => cache.get("AAPL", "1m", 0, 120_000, load));
  release();
  const got = await Promise.all(many);
  assert.equal(queries, 1);
  assert.ok(got.every((g) => g.length === 2));
  await cache.get("AAPL", "1m", 0, 120_000, load);
  assert.equal(queries, 1);
  assert.deepEqual(cache.stats(), { hits: 1, misses: 1, shared: 19, invalidated: 0, entries: 1 });
});

Deno.test("HistoryCache drops only the ranges a write reaches, and never stores a result a write overtook", async () => {
  const cache = new HistoryCache();
  let queries = 0;
  const load = () => (queries++, Promise.resolve([candle(0)]));
  await cache.get("AAPL", "1m", 0, 60_000, load); // ends before the write
  await cache.get("AAPL", "1m", 0, 600_000, load); // reaches it
  await cache.get("MSFT", "1m", 0, 600_000, load); // another symbol
  cache.invalidate("AAPL", 120_000);
  assert.equal(cache.stats().invalidated, 1);
  queries = 0;
  await cache.get("AAPL", "1m", 0, 60_000, load);
  await cache.get("MSFT", "1m", 0, 600_000, load);
  assert.equal(queries, 0, "untouched ranges stay cached");
  await cache.get("AAPL", "1m", 0, 600_000, load);
  assert.equal(queries, 1, "the range the write reached is queried again");

  // A query that started before a write finished after it: its answer may miss the write, so it is not kept.
  let finish: () => void = () => {};
  const slow = cache.get("TSLA", "1m", 0, 600_000, () => new Promise((r) => finish = () => r([candle(0)])));
  cache.invalidate("TSLA", 0);
  finish();
  await slow;
  queries = 0;
  await cache.get("TSLA", "1m", 0, 600_000, load);
  assert.equal(queries, 1);
});
