import assert from "node:assert/strict";
import { client, withApp } from "./api_client.ts";
import { yahooChartHandler } from "./fake_chart.ts";
import { startFakeYahooRest } from "./fake_yahoo_rest.ts";
import { until } from "./wait.ts";

const DAY = 86_400_000;

Deno.test("the app fetches history at first start and serves it from /history; /api/v1/jobs shows the run", async () => {
  const rest = startFakeYahooRest({ chart: yahooChartHandler({ failFirst: new Map([["MSFT", [429, 503]]]) }) });
  try {
    await withApp(async (base) => {
      const a = client(base);
      let runs: { status: string; rowsWritten: number; findings: { gaps: { count: number } } }[] = [];
      await until(
        async () => {
          runs = (await a.call("GET", "/api/v1/jobs")).body.runs;
          return runs.length > 0 && runs[0]!.status !== "running";
        },
        60_000,
        "first history run finished",
      );
      assert.equal(runs[0]!.status, "ok", JSON.stringify(runs[0]));
      assert.ok(runs[0]!.rowsWritten > 2 * 1_240, `rows ${runs[0]!.rowsWritten}`);

      const now = Date.now();
      const h = await a.call("GET", `/api/v1/history?symbol=MSFT&interval=1d&from=${now - 5 * 365 * DAY}&to=${now}`);
      assert.equal(h.status, 200);
      assert.ok(h.body.candles.length > 1_240, `daily candles ${h.body.candles.length}`);
      const c = h.body.candles[100];
      assert.ok(c.low <= Math.min(c.open, c.close) && c.high >= Math.max(c.open, c.close));
      const m = await a.call("GET", `/api/v1/history?symbol=AAPL&interval=15m&from=${now - 10 * DAY}&to=${now}`);
      assert.ok(m.body.candles.length > 50, `15m candles from fetched minutes: ${m.body.candles.length}`);

      assert.equal((await a.call("GET", "/api/v1/jobs?limit=0")).status, 400);
      assert.equal((await a.call("GET", "/api/v1/jobs?job=ohlcv_fetch&limit=5")).body.runs.length, 1);
    }, { YAHOO_API_BASE: rest.url });
  } finally {
    await rest.stop();
  }
});
