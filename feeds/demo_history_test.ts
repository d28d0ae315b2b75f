import assert from "node:assert/strict";
import { loadMigrations, migrate } from "../store/migrate.ts";
import { dropStore, openTestStore } from "../tests/embedded_store.ts";
import { generateDemoHistory } from "./demo_history.ts";
import { exchangeOpen } from "../schema/exchange.ts";
import { demoProfile } from "./demo_market.ts";

const DAY = 86_400_000;

Deno.test("demo history: five years of daily and 30 sessions of minute candles ending at the live price, with the profile's volatility", async () => {
  const store = await openTestStore();
  try {
    await migrate(store, await loadMigrations());
    const now = Date.UTC(2026, 10, 21, 17, 0); // a Saturday: the last session is Friday's, complete
    const started = performance.now();
    const written = await generateDemoHistory({
      store,
      symbols: ["AAPL", "TSLA"],
      now,
      endPrice: (s) => s === "AAPL" ? 271.3 : undefined,
    });
    console.log(
      `generated ${written.map((w) => `${w.symbol}: ${w.daily} daily, ${w.minutes} minute`).join("; ")} in ${
        Math.round(performance.now() - started)
      } ms`,
    );
    const aapl = written.find((w) => w.symbol === "AAPL")!;
    assert.ok(aapl.daily >= 1_250 && aapl.daily <= 1_270, `daily candles ${aapl.daily}`);
    assert.equal(aapl.minutes, 30 * 390, "30 full sessions (none of them closes early)");
    assert.equal(aapl.lastClose, 271.3);
    assert.equal(aapl.lastTime, exchangeOpen(Date.UTC(2026, 10, 20)) + 389 * 60_000, "Friday's last minute");

    const daily = await store.query<{ t: string; open: number; high: number; low: number; close: number }>(
      "SELECT toUnixTimestamp(toDateTime(time, 'UTC')) * 1000 AS t, open, high, low, close FROM candles_1d FINAL WHERE symbol = 'AAPL' ORDER BY time",
    );
    assert.equal(daily.length, aapl.daily);
    assert.ok(daily.every((d) => d.low <= Math.min(d.open, d.close) && d.high >= Math.max(d.open, d.close)));
    assert.equal(daily.at(-1)!.close, 271.3);
    assert.equal(aapl.previousClose, daily.at(-2)!.close);
    // A day with minutes is their aggregate.
    const friday = Date.UTC(2026, 10, 20);
    const [agg] = await store.query<{ open: number; close: number; high: number }>(
      `SELECT argMin(open, time) AS open, argMax(close, time) AS close, max(high) AS high FROM candles_1m FINAL
       WHERE symbol = 'AAPL' AND time >= fromUnixTimestamp64Milli(${friday}) AND time < fromUnixTimestamp64Milli(${
        friday + DAY
      })`,
    );
    const fri = daily.find((d) => Number(d.t) === friday)!;
    assert.deepEqual([fri.open, fri.close, fri.high], [agg!.open, agg!.close, agg!.high]);
    // Realized volatility of daily closes against the profile's (jumps and gaps widen it a little).
    const closes = daily.map((d) => d.close);
    const r = closes.slice(1).map((c, i) => Math.log(c / closes[i]!));
    const realized = Math.sqrt(r.reduce((s, x) => s + x * x, 0) / r.length * 252);
    const configured = demoProfile("AAPL").volatility;
    console.log(`AAPL demo: realized annual volatility ${realized.toFixed(3)} against ${configured.toFixed(3)}`);
    assert.ok(realized / configured > 0.85 && realized / configured < 1.3, `${realized} vs ${configured}`);

    // Early-close days get 210 minutes: the 30 sessions up to 2026-12-28 hold the day after Thanksgiving and
    // Christmas Eve.
    const [late] = await generateDemoHistory({ store, symbols: ["LATE"], now: Date.UTC(2026, 11, 29, 5) });
    assert.equal(late!.minutes, 28 * 390 + 2 * 210);

    // A second start writes nothing.
    assert.deepEqual(await generateDemoHistory({ store, symbols: ["AAPL", "TSLA"], now }), []);
  } finally {
    await dropStore(store);
  }
});
