import assert from "node:assert/strict";
import { parseIsoTime, timeParam } from "./query.ts";
import { DEFAULT_SPAN_MS, historyQuery } from "./market.ts";

Deno.test("times are epoch ms or ISO 8601 dates and times; UTC unless an offset says otherwise", () => {
  assert.equal(parseIsoTime("2026-11-20"), Date.UTC(2026, 10, 20));
  assert.equal(parseIsoTime("2026-11-20T14:30"), Date.UTC(2026, 10, 20, 14, 30));
  assert.equal(parseIsoTime("2026-11-20T14:30:05.250Z"), Date.UTC(2026, 10, 20, 14, 30, 5, 250));
  assert.equal(parseIsoTime("2026-11-20T09:30:00-05:00"), Date.UTC(2026, 10, 20, 14, 30));
  for (
    const bad of ["2026-02-30", "2026-13-01", "2026-11-20T24:00", "2026-11-20T10:60", "20261120", "2026-11-20 10:00"]
  ) {
    assert.equal(parseIsoTime(bad), undefined, bad);
  }
  const t = timeParam("from");
  assert.equal(t.parse("1795000000000"), 1_795_000_000_000);
  assert.equal(t.parse("2024-02-29"), Date.UTC(2024, 1, 29));
  assert.throws(() => t.parse("1.5"), /from must be epoch milliseconds or an ISO 8601/);
  assert.throws(() => t.parse("1969-12-31"), /from must be epoch milliseconds or an ISO 8601/);
});

Deno.test("history without from/to covers a span that fits the interval, up to now", () => {
  for (const interval of ["1m", "5m", "15m", "1h", "1d"] as const) {
    const before = Date.now();
    const q = historyQuery.parse({ symbol: "AAPL", interval });
    assert.ok(q.to >= before && q.to <= Date.now());
    assert.equal(q.to - q.from, DEFAULT_SPAN_MS[interval], interval);
  }
  const q = historyQuery.parse({ symbol: "AAPL", interval: "1d", to: "2026-01-01" });
  assert.equal(q.from, Date.UTC(2026, 0, 1) - 365 * 86_400_000);
  assert.equal(historyQuery.parse({ symbol: "AAPL" }).interval, "1m");
});
