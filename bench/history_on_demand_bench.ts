/**
 * Time to first candles for a symbol the app has never tracked: GET /api/v1/history fetches the range from the
 * provider (a local server in Yahoo's chart format) within the request and stores it. Measured for 1d over five
 * years and 1m over five days, each on a symbol of its own, three symbols per case, against the same request once
 * the candles are stored (the baseline: what the store alone costs).
 */
import { client, withApp } from "../tests/api_client.ts";
import { yahooChartHandler } from "../tests/fake_chart.ts";
import { startFakeYahooRest } from "../tests/fake_yahoo_rest.ts";
import { once } from "./harness.ts";

const DAY = 86_400_000;
const CASES = [
  { name: "1d over 5 years", interval: "1d", span: Math.round(5 * 365.25 * DAY), symbols: ["IBM", "ORCL", "CSCO"] },
  { name: "1m over 5 days", interval: "1m", span: 5 * DAY, symbols: ["INTC", "AMD", "QCOM"] },
] as const;

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const run = once(async () => {
  const rest = startFakeYahooRest({ chart: yahooChartHandler() });
  const rows: { name: string; cold: number[]; warm: number[]; candles: number }[] = [];
  try {
    await withApp(async (base) => {
      const api = client(base);
      for (const c of CASES) {
        const row = { name: c.name, cold: [] as number[], warm: [] as number[], candles: 0 };
        for (const symbol of c.symbols) {
          const to = Date.now();
          const path = `/api/v1/history?symbol=${symbol}&interval=${c.interval}&from=${to - c.span}&to=${to}`;
          let t0 = performance.now();
          const first = await api.call("GET", path);
          row.cold.push(performance.now() - t0);
          if (first.status !== 200 || !first.body.fetched || first.body.candles.length === 0) {
            throw new Error(`${symbol} ${c.interval}: ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`);
          }
          t0 = performance.now();
          const again = await api.call("GET", path);
          row.warm.push(performance.now() - t0);
          if (again.body.fetched || again.body.candles.length !== first.body.candles.length) {
            throw new Error(`${symbol} ${c.interval}: the second answer was not served from the store`);
          }
          row.candles = first.body.candles.length;
        }
        rows.push(row);
      }
    }, { YAHOO_API_BASE: rest.url });
  } finally {
    await rest.stop();
  }
  return rows;
});

Deno.bench({ name: "history on demand: time to first candles for an untracked symbol", n: 1, warmup: 0 }, async () => {
  for (const r of await run()) {
    const cold = median(r.cold);
    const warm = median(r.warm);
    console.log(
      `${r.name.padEnd(16)} ${r.candles} candles · first answer ${Math.round(cold)} ms (${
        r.cold.map(Math.round).join(", ")
      }) · stored ${warm.toFixed(1)} ms · ${(cold / warm).toFixed(1)}x the stored answer`,
    );
  }
});
