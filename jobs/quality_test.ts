import assert from "node:assert/strict";
import { checkBars, dedupe, emptyFindings } from "./quality.ts";
import type { Bar } from "./providers.ts";

const day = (s: string) => Date.parse(`${s}T00:00:00Z`);
const bar = (time: number, close: number, over: Partial<Bar> = {}): Bar => ({
  time,
  open: close,
  high: close + 1,
  low: close - 1,
  close,
  volume: 1_000,
  ...over,
});

Deno.test("OHLC invariants: a low above the open or a high below the close is reported with the bar", () => {
  const f = emptyFindings();
  checkBars(f, "AAPL", "1d", [
    bar(day("2024-03-04"), 100),
    bar(day("2024-03-05"), 101, { low: 101.5 }),
    bar(day("2024-03-06"), 102, { high: 101 }),
  ], []);
  assert.equal(f.ohlc.count, 2);
  assert.deepEqual(f.ohlc.examples.map((e) => e.time), ["2024-03-05T00:00:00.000Z", "2024-03-06T00:00:00.000Z"]);
});

Deno.test("daily gaps follow the NYSE calendar: Good Friday and weekends are not gaps, a missing Tuesday is", () => {
  const f = emptyFindings();
  // 2024-03-28 Thu, 29 Good Friday, 30-31 weekend, Apr 1 Mon, Apr 2 Tue missing, Apr 3 Wed.
  checkBars(
    f,
    "AAPL",
    "1d",
    [bar(day("2024-03-28"), 100), bar(day("2024-04-01"), 100), bar(day("2024-04-03"), 100)],
    [],
  );
  assert.deepEqual(f.gaps.examples, [{ symbol: "AAPL", interval: "1d", missing: "2024-04-02" }]);
});

Deno.test("minute gaps count missing regular-session minutes only, with an early close on the day after Thanksgiving", () => {
  const f = emptyFindings();
  // 2024-11-29 closes at 13:00 New York (18:00 UTC): bars 14:30-17:59 UTC are the whole session.
  const open = Date.parse("2024-11-29T14:30:00Z");
  const bars = Array.from({ length: 210 }, (_, i) => bar(open + i * 60_000, 100)).filter((_, i) =>
    i !== 30 && i !== 31
  );
  checkBars(f, "AAPL", "1m", bars, []);
  assert.equal(f.gaps.count, 2);
  assert.deepEqual(f.gaps.examples[0], {
    symbol: "AAPL",
    interval: "1m",
    day: "2024-11-29",
    missingMinutes: 2,
    from: "10:00 ET",
  });
});

Deno.test("a jump is reported unless a split on that day explains it", () => {
  const unexplained = emptyFindings();
  checkBars(unexplained, "NVDA", "1d", [bar(day("2024-06-07"), 1200), bar(day("2024-06-10"), 120)], []);
  assert.equal(unexplained.jumps.count, 1);
  assert.equal(unexplained.jumps.examples[0]!.percent, -90);
  const split = emptyFindings();
  checkBars(split, "NVDA", "1d", [bar(day("2024-06-07"), 1200), bar(day("2024-06-10"), 121)], [{
    time: day("2024-06-10"),
    ratio: 10,
  }]);
  assert.equal(split.jumps.count, 0);
});

Deno.test("dedupe keeps the last bar of a repeated time and counts the repeat", () => {
  const f = emptyFindings();
  const out = dedupe(f, "AAPL", "1d", [
    bar(day("2024-03-05"), 2),
    bar(day("2024-03-04"), 1),
    bar(day("2024-03-05"), 3),
  ]);
  assert.deepEqual(out.map((b) => b.close), [1, 3]);
  assert.equal(f.duplicates.count, 1);
});
