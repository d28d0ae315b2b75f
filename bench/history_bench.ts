/**
 * History: backfill throughput and history-endpoint query time on embedded ClickHouse.
 *
 * - Backfill: 50 symbols x 5 years of daily candles fetched from a local server in Yahoo's chart format (through
 *   yahoo-finance2 and the rate-limited fetch, at 50 requests/s) and written idempotently; printed as candles/s,
 *   against inserting the same rows directly (baseline).
 * - Query: GET /api/v1/history for one symbol over five years of daily candles, and over one year of minute candles
 *   (read at 1h, since one request returns at most 20,000 candles), against the same endpoint returning one candle.
 */
import { createYahooRest } from "../feeds/yahoo_rest.ts";
import { runOhlcvFetch } from "../jobs/ohlcv_job.ts";
import { dailyRow, minuteRow } from "../store/rows.ts";
import { politeFetch } from "../jobs/polite_fetch.ts";
import { YahooChartProvider } from "../jobs/providers.ts";
import { createApp } from "../routes/app.ts";
import { openEmbeddedStore } from "../store/embedded.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";
import { dailyBars, minuteBars, yahooChartHandler } from "../tests/fake_chart.ts";
import { startFakeYahooRest } from "../tests/fake_yahoo_rest.ts";

const DAY = 86_400_000;
const dir = await Deno.makeTempDir({ prefix: "breadboard-history-bench-" });
const store = await openEmbeddedStore({ path: dir, database: "bench" });
const migrations = await loadMigrations();
await migrate(store, migrations);
const rest = startFakeYahooRest({ chart: yahooChartHandler() });
const SYMBOLS = Array.from({ length: 50 }, (_, i) => `B${String(i).padStart(2, "0")}`);
const now = Date.now();

let db = 0;
async function freshDatabase() {
  const s = await openEmbeddedStore({ path: dir, database: `backfill_${db++}` });
  await migrate(s, migrations);
  return s;
}

let lastRate = 0;
Deno.bench({
  name: "insert the same 5-year daily rows directly",
  group: "backfill 50 symbols x 5 years",
  baseline: true,
  n: 3,
  warmup: 1,
}, async (b) => {
  const s = await freshDatabase();
  const rows = SYMBOLS.flatMap((symbol) =>
    dailyBars(symbol, now - 5 * 365.25 * DAY, now).map((c) => dailyRow(symbol, c, "yahoo", 1))
  );
  b.start();
  for (let i = 0; i < rows.length; i += 1_300) await s.insert("candles_1d", rows.slice(i, i + 1_300));
  b.end();
  await s.close();
});

Deno.bench(
  { name: "backfill from the local chart server", group: "backfill 50 symbols x 5 years", n: 3, warmup: 1 },
  async (b) => {
    const s = await freshDatabase();
    const provider = new YahooChartProvider(
      createYahooRest({ apiBase: rest.url, fetch: politeFetch({ concurrency: 4, ratePerSecond: 50 }) }),
    );
    b.start();
    const t0 = performance.now();
    const run = await runOhlcvFetch({ store: s, provider, symbols: SYMBOLS, intervals: ["1d"], job: "backfill" });
    const rate = run.rowsWritten / ((performance.now() - t0) / 1000);
    b.end();
    if (Math.abs(rate - lastRate) > 1) {
      console.log(
        `  backfill wrote ${run.rowsWritten} candles, ${Math.round(rate)} candles/s`,
      );
    }
    lastRate = rate;
    await s.close();
  },
);

// One symbol with five years of daily and one year of minute candles.
const Q = "HIST";
const daily = dailyBars(Q, now - 5 * 365.25 * DAY, now);
await store.insert("candles_1d", daily.map((c) => dailyRow(Q, c, "yahoo", 1)));
const minutes = minuteBars(Q, now - 365 * DAY, now);
for (let i = 0; i < minutes.length; i += 25_000) {
  await store.insert(
    "candles_1m",
    minutes.slice(i, i + 25_000).map((c) => minuteRow(Q, c, "yahoo", 1)),
  );
}
const kv = await Deno.openKv(":memory:");
const app = createApp({
  store,
  kv,
  feed: () => ({ state: "live", lastTickAt: null }),
  market: { stock: () => Promise.resolve(undefined), openCandle: () => undefined },
});
async function history(query: string, expect: number) {
  const res = await app.fetch(new Request(`http://bench/api/v1/history?symbol=${Q}&${query}`));
  const body = await res.json();
  if (res.status !== 200 || body.candles.length < expect) {
    throw new Error(`history ${query}: ${res.status} ${body.candles?.length}`);
  }
}
const oneDay = daily[100]!.time;
console.log(`  history data: ${daily.length} daily and ${minutes.length} minute candles for ${Q}`);

Deno.bench({ name: "one daily candle", group: "history endpoint", baseline: true }, async () => {
  await history(`interval=1d&from=${oneDay}&to=${oneDay + DAY}`, 1);
});
Deno.bench({ name: "five years of daily candles", group: "history endpoint" }, async () => {
  await history(`interval=1d&from=${now - 5 * 365.25 * DAY}&to=${now}`, 1_200);
});
Deno.bench({ name: "one year of minute candles, read at 1h", group: "history endpoint" }, async () => {
  await history(`interval=1h&from=${now - 365 * DAY}&to=${now}`, 1_500);
});

globalThis.addEventListener("unload", () => {
  void rest.stop();
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});
