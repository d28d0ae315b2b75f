/**
 * History for any symbol on demand, against a fake Yahoo that answers in the chart API's real JSON format: an
 * untracked symbol's candles are fetched within the request, once for concurrent requests, stored, and served from
 * the store afterwards; the provider's limits and unknown symbols are explained.
 */
import assert from "node:assert/strict";
import { client, withApp } from "./api_client.ts";
import { yahooChartHandler } from "./fake_chart.ts";
import { startFakeYahooRest } from "./fake_yahoo_rest.ts";

const DAY = 86_400_000;

Deno.test("an untracked symbol's history is fetched within the request, once, then served from the store", async () => {
  const known = new Set(["AAPL", "MSFT", "IBM", "ORCL"]);
  const rest = startFakeYahooRest({ chart: yahooChartHandler({ known }) });
  const chartCalls = (symbol: string, interval: string) =>
    rest.requests.filter((r) => r.includes(`/chart/${symbol}?`) && r.includes(`interval=${interval}`)).length;
  try {
    await withApp(async (base) => {
      const a = client(base);
      // Three at once, with the default range of a daily chart (a year): one provider request between them.
      const first = await Promise.all([1, 2, 3].map(() => a.call("GET", "/api/v1/history?symbol=IBM&interval=1d")));
      for (const r of first) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.candles.length >= 240 && r.body.candles.length <= 260, `${r.body.candles.length} days`);
        assert.equal(r.body.fetched.provider, "yahoo");
        assert.ok(r.body.fetched.candlesWritten >= 240, JSON.stringify(r.body.fetched));
      }
      assert.equal(chartCalls("IBM", "1d"), 1, rest.requests.join("\n"));
      const c = first[0]!.body.candles[10];
      assert.ok(c.low <= Math.min(c.open, c.close) && c.high >= Math.max(c.open, c.close));

      // Now stored: the same answer without asking the provider.
      const again = await a.call("GET", "/api/v1/history?symbol=IBM&interval=1d");
      assert.equal(again.body.fetched, undefined);
      assert.deepEqual(again.body.candles, first[0]!.body.candles);
      assert.equal(chartCalls("IBM", "1d"), 1);

      // An older range in ISO dates: the store starts after it, so that part is fetched.
      const jan = await a.call("GET", "/api/v1/history?symbol=IBM&interval=1d&from=2024-01-02&to=2024-02-01");
      assert.equal(jan.status, 200);
      assert.ok(jan.body.fetched.candlesWritten >= 19, JSON.stringify(jan.body.fetched));
      assert.equal(jan.body.candles.length, jan.body.fetched.candlesWritten);
      assert.ok(jan.body.candles.every((k: { time: number }) => k.time >= Date.UTC(2024, 0, 2) - DAY));

      // Minutes reach back about 30 days: a 60-day request says so and fetches what exists.
      const now = Date.now();
      const m = await a.call("GET", `/api/v1/history?symbol=ORCL&interval=1h&from=${now - 60 * DAY}&to=${now}`);
      assert.equal(m.status, 200, JSON.stringify(m.body));
      assert.match(m.body.notice, /intraday candles reach back (29|30) days at the data provider; use interval=1d/);
      assert.equal(m.body.fetched.interval, "1m");
      assert.ok(m.body.fetched.from >= now - 30 * DAY - 60_000);
      assert.ok(m.body.candles.length > 50, `${m.body.candles.length} hours`);

      // A symbol the provider does not know: a clear 404, and not asked again right away.
      const unknown = await a.call("GET", "/api/v1/history?symbol=ZZZZ&interval=1d");
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, "unknown_symbol");
      assert.match(unknown.body.error.message, /yahoo does not know ZZZZ/);
      await a.call("GET", "/api/v1/history?symbol=ZZZZ&interval=1d");
      assert.equal(chartCalls("ZZZZ", "1d"), 1);
    }, { YAHOO_API_BASE: rest.url });
  } finally {
    await rest.stop();
  }
});
