import assert from "node:assert/strict";
import { startApp } from "./app_process.ts";
import { until } from "./wait.ts";

const DAY = 86_400_000;

Deno.test("the demo starts with five years of history, and a restart continues its prices with no jump and no alert", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-demo-" });
  const env = {
    DATA_DIR: dataDir,
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    SYNTHETIC_RATE: "100",
    SYMBOLS: "AAPL,TSLA",
  };
  try {
    const startedAt = Date.now();
    const first = await startApp(env);
    const base = `http://127.0.0.1:${first.port}`;
    const now = Date.now();
    const daily =
      await (await fetch(`${base}/api/v1/history?symbol=TSLA&interval=1d&from=${now - 5 * 365 * DAY}&to=${now}`))
        .json();
    console.log(`five years of daily candles ${Date.now() - startedAt} ms after start: ${daily.candles.length}`);
    assert.ok(daily.candles.length >= 1_240, `daily candles: ${daily.candles.length}`);
    const minutes =
      await (await fetch(`${base}/api/v1/history?symbol=TSLA&interval=1m&from=${now - 5 * DAY}&to=${now}`)).json();
    assert.ok(minutes.candles.length >= 390, `minute candles in 5 days: ${minutes.candles.length}`);
    await first.waitFor(/"msg":"demo history written"/);

    // Live ticks continue where the history ends, then a restart continues where the live ticks stopped.
    await until(async () => (await fetch(`${base}/api/v1/stocks/TSLA`)).status === 200, 20_000, "a live TSLA quote");
    const live = await (await fetch(`${base}/api/v1/stocks/TSLA`)).json();
    const lastMinute = minutes.candles.at(-1).close;
    assert.ok(Math.abs(Math.log(live.price / lastMinute)) < 0.05, `live ${live.price} after history ${lastMinute}`);
    first.child.kill("SIGTERM");
    assert.equal((await first.finished).code, 0);
    const lastBefore = live.price;

    const second = await startApp(env);
    const base2 = `http://127.0.0.1:${second.port}`;
    let after: { price: number; previousClose: number } | undefined;
    await until(
      async () => {
        const r = await fetch(`${base2}/api/v1/stocks/TSLA`);
        if (r.status !== 200) return (await r.body?.cancel(), false);
        after = await r.json();
        return true;
      },
      20_000,
      "a TSLA quote after the restart",
    );
    assert.ok(
      Math.abs(Math.log(after!.price / lastBefore)) < 0.05,
      `after restart ${after!.price}, before ${lastBefore}`,
    );
    assert.ok(!second.stdout.some((l) => l.includes('"msg":"demo history written"')), "history is written once");
    second.child.kill("SIGTERM");
    assert.equal((await second.finished).code, 0);
    const alerts = [...first.stdout, ...second.stdout].filter((l) => l.includes('"msg":"alert"'));
    assert.deepEqual(alerts, [], "no alert from the restart");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
