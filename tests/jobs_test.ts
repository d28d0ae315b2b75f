import assert from "node:assert/strict";
import { createYahooRest } from "../feeds/yahoo_rest.ts";
import { runOhlcvFetch } from "../jobs/ohlcv_job.ts";
import { politeFetch } from "../jobs/polite_fetch.ts";
import { MassiveAggsProvider, YahooChartProvider } from "../jobs/providers.ts";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "../store/migrate.ts";
import type { Store } from "../store/store.ts";
import { dropStore, openTestStore } from "./embedded_store.ts";
import { startFakeMassiveRest, yahooChartHandler } from "./fake_chart.ts";
import { startFakeYahooRest } from "./fake_yahoo_rest.ts";

const DAY = 86_400_000;

async function migrated(): Promise<Store> {
  const store = await openTestStore();
  await migrate(store, await loadMigrations(MIGRATIONS_DIR));
  return store;
}

async function counts(store: Store) {
  const one = async (sql: string) => Number((await store.query<{ n: number }>(sql))[0]!.n);
  return {
    daily: await one("SELECT count() AS n FROM candles_1d"),
    dailyFinal: await one("SELECT count() AS n FROM candles_1d FINAL"),
    minute: await one("SELECT count() AS n FROM candles_1m"),
    minuteFinal: await one("SELECT count() AS n FROM candles_1m FINAL"),
  };
}

function yahooProvider(base: string, retries: string[]) {
  const f = politeFetch({ backoffMs: 5, ratePerSecond: 200, onRetry: (_u, _a, reason) => retries.push(reason) });
  return new YahooChartProvider(createYahooRest({ apiBase: base, fetch: f }));
}

Deno.test("the OHLCV job writes five years of daily and 30 days of minute candles, and a second run writes nothing", async () => {
  const now = Date.now();
  const failFirst = new Map([["AAPL", [429]], ["MSFT", [500]]]);
  const yahoo = startFakeYahooRest({
    chart: yahooChartHandler({
      known: new Set(["AAPL", "MSFT", "EMPTY"]),
      failFirst,
      empty: new Set(["EMPTY"]),
      nullEvery: 97,
    }),
  });
  const store = await migrated();
  const retries: string[] = [];
  try {
    const provider = yahooProvider(yahoo.url, retries);
    const symbols = ["AAPL", "MSFT", "EMPTY", "NOPE"];
    const first = await runOhlcvFetch({ store, provider, symbols, now: () => now });
    assert.equal(first.status, "partial", "NOPE is unknown");
    assert.deepEqual(retries.sort(), ["HTTP 429", "HTTP 500"], "the 429 and the 500 were retried");
    assert.deepEqual(first.findings.unknownSymbols.examples.map((e) => e.symbol), ["NOPE"]);
    assert.equal(first.findings.errors.count, 0);

    const c1 = await counts(store);
    // Five years of NYSE trading days is about 1,257 per symbol.
    const perSymbol = Number(
      (await store.query<{ n: number }>("SELECT count() AS n FROM candles_1d FINAL WHERE symbol = 'AAPL'"))[0]!.n,
    );
    assert.ok(perSymbol > 1_240 && perSymbol < 1_270, `AAPL daily candles ${perSymbol}`);
    assert.equal(c1.daily, perSymbol * 2, "AAPL and MSFT; EMPTY has none");
    // Minute bars: ~20 trading days x 390, less the halted minutes Yahoo sent as nulls.
    assert.ok(c1.minute > 2 * 15 * 380, `minute candles ${c1.minute}`);
    assert.ok(first.findings.incomplete.count > 0, "null bars are counted");
    assert.equal(first.rowsWritten, c1.daily + c1.minute);
    // Yahoo's 8-day limit for 1-minute requests was respected: the fake answers 422 otherwise.
    const minuteRequests = yahoo.requests.filter((r) => r.includes("interval=1m") && r.includes("/AAPL?"));
    assert.ok(minuteRequests.length >= 4, `AAPL minute requests ${minuteRequests.length}`);

    const second = await runOhlcvFetch({ store, provider, symbols, now: () => now });
    assert.equal(second.rowsWritten, 0);
    assert.deepEqual(await counts(store), c1, "running twice changes nothing");
    // Nothing in the data breaks an invariant; the halted minutes are gaps in the regular session, while weekends
    // and holidays between daily bars are not.
    assert.equal(first.findings.ohlc.count, 0);
    assert.equal(first.findings.duplicates.count, 0);
    assert.equal(first.findings.jumps.count, 0);
    assert.ok(first.findings.gaps.count >= first.findings.incomplete.count / 2, JSON.stringify(first.findings.gaps));
    assert.ok(first.findings.gaps.examples.every((g) => g.interval === "1m"), "no daily gaps");

    const runs = await store.query<{ status: string; rows_written: number; job: string }>(
      "SELECT status, rows_written, job FROM job_runs FINAL ORDER BY rows_written DESC",
    );
    assert.deepEqual(runs.map((r) => [r.status, Number(r.rows_written)]), [
      ["partial", c1.daily + c1.minute],
      ["partial", 0],
    ]);
  } finally {
    await dropStore(store);
    await yahoo.stop();
  }
});

Deno.test("the OHLCV job fetches only what is missing after the last stored day", async () => {
  const now = Date.now();
  const yahoo = startFakeYahooRest({ chart: yahooChartHandler() });
  const store = await migrated();
  try {
    const provider = yahooProvider(yahoo.url, []);
    const early = now - 20 * DAY;
    await runOhlcvFetch({ store, provider, symbols: ["NVDA"], intervals: ["1d"], now: () => early });
    const before = (await counts(store)).daily;
    const run = await runOhlcvFetch({ store, provider, symbols: ["NVDA"], intervals: ["1d"], now: () => now });
    const after = (await counts(store)).daily;
    assert.ok(after - before >= 12 && after - before <= 15, `20 calendar days add ~14 trading days: ${after - before}`);
    assert.equal(run.rowsWritten, after - before);
    const lastDaily = yahoo.requests.filter((r) => r.includes("/NVDA?") && r.includes("interval=1d")).at(-1)!;
    const period1 = Number(new URLSearchParams(lastDaily.split("?")[1]).get("period1")) * 1000;
    assert.ok(period1 >= early - 5 * DAY, "the second run asked only for the days since the last stored one");
  } finally {
    await dropStore(store);
    await yahoo.stop();
  }
});

Deno.test("with a Massive key the job reads Massive's aggregates, following next_url across pages", async () => {
  const now = Date.now();
  const massive = startFakeMassiveRest("k-123", 300);
  const store = await migrated();
  try {
    const provider = new MassiveAggsProvider({ apiBase: massive.url, apiKey: "k-123", fetch: politeFetch() });
    const twoYears = {
      store,
      provider,
      symbols: ["AAPL"],
      intervals: ["1d"] as const,
      from: now - 2 * 365 * DAY,
      now: () => now,
    };
    const run = await runOhlcvFetch(twoYears);
    assert.equal(run.status, "ok");
    const c = await counts(store);
    assert.ok(c.daily > 490 && c.daily < 510, `two years of days: ${c.daily}`);
    assert.ok(massive.requests.length >= 2, "more than one page");
    assert.ok(massive.requests.slice(1).every((r) => r.includes("cursor=") && r.includes("apiKey=k-123")));
    assert.equal(run.findings.gaps.count, 0, "Massive's day stamps map to the right trading days");
    const again = await runOhlcvFetch(twoYears);
    assert.equal(again.rowsWritten, 0);
  } finally {
    await dropStore(store);
    await massive.stop();
  }
});
