import assert from "node:assert/strict";
import { historyBody } from "./history_body.ts";

const candle = (time: number, close: number) => ({ time, open: 1, high: close + 1, low: 0.5, close, volume: 10 });

Deno.test("a history body is exactly the JSON of the answer, whatever the tail does", () => {
  const stored = [candle(0, 1), candle(60_000, 2), candle(120_000, 3)];
  const cases = [
    { name: "as stored", candles: stored.slice() },
    { name: "last replaced", candles: [...stored.slice(0, -1), { ...stored[2]!, close: 4 }] },
    { name: "appended", candles: [...stored, candle(180_000, 5)] },
    { name: "empty", stored: [], candles: [] },
    { name: "one, appended", stored: [stored[0]!], candles: [stored[0]!, candle(60_000, 9)] },
  ];
  for (const c of cases) {
    const s = c.stored ?? stored;
    const { body } = historyBody("AAPL", "1m", s, c.candles);
    assert.equal(body, JSON.stringify({ symbol: "AAPL", interval: "1m", candles: c.candles }), c.name);
  }
});

Deno.test("the ETag follows the content: equal answers share it, any change in symbol, interval or candles moves it", () => {
  const stored = [candle(0, 1), candle(60_000, 2), candle(120_000, 3)];
  const a = historyBody("AAPL", "1m", stored, stored.slice()).etag;
  assert.equal(historyBody("AAPL", "1m", stored, stored.slice()).etag, a);
  // The same content from another list (a cache refill) has the same tag.
  const again = stored.map((c) => ({ ...c }));
  assert.equal(historyBody("AAPL", "1m", again, again.slice()).etag, a);
  const others = [
    historyBody("MSFT", "1m", stored, stored.slice()).etag,
    historyBody("AAPL", "5m", stored, stored.slice()).etag,
    historyBody("AAPL", "1m", stored, [...stored.slice(0, -1), { ...stored[2]!, volume: 11 }]).etag,
    historyBody("AAPL", "1m", stored, [...stored, candle(180_000, 4)]).etag,
  ];
  const changedHead = [{ ...stored[0]!, close: 7 }, stored[1]!, stored[2]!];
  others.push(historyBody("AAPL", "1m", changedHead, changedHead.slice()).etag);
  assert.equal(new Set([a, ...others]).size, others.length + 1);
  assert.match(a, /^"[A-Za-z0-9_-]{16}"$/);
});

Deno.test("candles that do not keep the stored head are refused rather than served wrong", () => {
  const stored = [candle(0, 1), candle(60_000, 2), candle(120_000, 3)];
  assert.throws(() => historyBody("AAPL", "1m", stored, [candle(0, 1)]), /must keep the stored candles/);
  assert.throws(
    () => historyBody("AAPL", "1m", stored, [stored[0]!, { ...stored[1]! }, stored[2]!]),
    /must keep the stored candles/,
  );
});
