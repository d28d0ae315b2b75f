import assert from "node:assert/strict";
import { Hono } from "hono";
import { minuteRow } from "../../store/rows.ts";
import { exchangeDayRange } from "../../schema/exchange.ts";
import { loadMigrations, migrate } from "../../store/migrate.ts";
import { dropStore, openTestStore } from "../../tests/embedded_store.ts";
import { onError } from "../errors.ts";
import { marketRoutes } from "./market.ts";

const MIN = 60_000;

Deno.test("today's daily bar is New York's trading day: 21:00 ET adds to it, 00:30 ET starts the next", async () => {
  const store = await openTestStore();
  try {
    await migrate(store, await loadMigrations());
    // Friday 2026-11-20 in New York runs from 05:00 UTC that day to 05:00 UTC on the 21st.
    const friday = Date.UTC(2026, 10, 20);
    const { start, end } = exchangeDayRange(friday);
    const bar = (time: number, price: number, volume: number) => ({
      time,
      open: price,
      high: price + 1,
      low: price - 1,
      close: price,
      volume,
    });
    await store.insert("candles_1m", [
      minuteRow("IBM", bar(start - 30 * MIN, 90, 5), "yahoo", 1), // 23:30 ET Thursday
      minuteRow("IBM", bar(start + 570 * MIN, 100, 10), "yahoo", 1), // 09:30 ET
      minuteRow("IBM", bar(start + 959 * MIN, 104, 20), "yahoo", 1), // 15:59 ET
      minuteRow("IBM", bar(end - 180 * MIN, 103, 7), "yahoo", 1), // 21:00 ET, 02:00 UTC on Saturday
    ]);
    let now = end - 60 * MIN; // 23:00 ET Friday: already Saturday in UTC
    const app = new Hono().onError(onError).route(
      "/",
      marketRoutes(
        { store, stock: () => Promise.resolve(undefined), openCandle: () => undefined, now: () => now },
        (c, next) => (c.set("userId", "u_test"), next()),
      ),
    );
    const daily = async () => {
      const r = await app.request(
        `/history?symbol=IBM&interval=1d&from=${friday}&to=${end + 86_400_000}`,
      );
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()).candles;
    };
    assert.deepEqual(await daily(), [{ time: friday, open: 100, high: 105, low: 99, close: 103, volume: 37 }]);
    // 00:30 ET Saturday, before the day's fetch stored Friday: Friday's bar still stands, Saturday has none yet.
    now = end + 30 * MIN;
    assert.deepEqual(await daily(), [{ time: friday, open: 100, high: 105, low: 99, close: 103, volume: 37 }]);
    // Thursday's 23:30 ET minute makes Thursday's bar once the range reaches back to it.
    const r = await app.request(`/history?symbol=IBM&interval=1d&from=${friday - 86_400_000}&to=${end}`);
    assert.deepEqual((await r.json()).candles.map((c: { time: number; volume: number }) => [c.time, c.volume]), [
      [friday - 86_400_000, 5],
      [friday, 37],
    ]);
  } finally {
    await dropStore(store);
  }
});
