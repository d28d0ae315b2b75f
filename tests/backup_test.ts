import assert from "node:assert/strict";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { spawnApp, startApp } from "./app_process.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { until } from "./wait.ts";

const SYMBOLS = ["AAA", "BBB"];

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? 0);
}

async function dump(dataDir: string) {
  const p = spawnApp({}, "tests/fixtures/dump_store.ts", [dataDir, "breadboard"]);
  const { code, stderr } = await p.finished;
  assert.equal(code, 0, stderr);
  return JSON.parse(p.stdout.at(-1)!) as {
    ticks: { symbol: string; t: number; price: number; seq: number }[];
    candles: { symbol: string; t: number }[];
  };
}

Deno.test("a backup taken during ingest restores into a new DATA_DIR holding every tick and candle accepted before it began, once", async () => {
  const yahoo = startFakeYahoo(await createYahooDecoder());
  const root = await Deno.makeTempDir({ prefix: "breadboard-backup-" });
  const [live, restored, backupDir] = [`${root}/live`, `${root}/restored`, `${root}/backup`];
  const start = Math.floor((Date.now() - 40 * 60_000) / 60_000) * 60_000;
  let step = 0;
  const send = () => {
    const i = step++;
    yahoo.price({
      id: SYMBOLS[i % 2],
      price: Math.round((100 + Math.sin(i / 9) * 3 + i / 1000) * 100) / 100,
      time: start + i * 3_000,
      quoteType: 8,
      marketHours: 1,
      priceHint: 2,
      previousClose: 100,
      dayVolume: 1_000 + i * 10,
    });
  };
  let app = await startApp({ DATA_DIR: live, YAHOO_WS_URL: yahoo.url, SYMBOLS: SYMBOLS.join(",") });
  try {
    await until(() => yahoo.open().some((c) => SYMBOLS.every((s) => c.symbols.has(s))), 20_000, "subscribed");
    // Before the backup: 400 ticks, every one accepted (fsynced to the write-ahead log).
    for (let i = 0; i < 400; i++) send();
    await until(async () => await metric(app.port, "breadboard_ticks_accepted_total") >= 400, 20_000, "accepted");
    const split = start + 400 * 3_000;

    // The backup runs while ticks keep arriving.
    const feeding = setInterval(() => send(), 5);
    const backup = spawnApp({ DATA_DIR: live, PORT: String(app.port) }, "jobs/backup_cli.ts", [backupDir]);
    const b = await backup.finished;
    clearInterval(feeding);
    assert.equal(b.code, 0, b.stderr);
    const made = JSON.parse(backup.stdout.at(-1)!);
    assert.ok(made.ticksAcceptedBefore >= 400);
    console.log(
      `backup: ${made.tables.ticks.rows} ticks, ${made.kvEntries} KV entries, ${
        Object.values<{ bytes: number }>(made.tables).reduce((n, t) => n + t.bytes, 0)
      } bytes of tables in ${made.seconds} s`,
    );
    app.child.kill("SIGTERM");
    assert.equal((await app.finished).code, 0);

    const restore = spawnApp({}, "jobs/restore_cli.ts", [backupDir, restored]);
    const r = await restore.finished;
    assert.equal(r.code, 0, r.stderr);
    console.log(`restore: ${restore.stdout.at(-1)}`);
    // Restoring over data is refused.
    const again = spawnApp({}, "jobs/restore_cli.ts", [backupDir, restored]);
    assert.equal((await again.finished).code, 2);

    const original = await dump(live);
    const copy = await dump(restored);
    const before = (d: typeof copy) => d.ticks.filter((t) => t.t < split);
    assert.equal(before(copy).length, 400, "every tick accepted before the backup, once");
    assert.deepEqual(before(copy), before(original));
    assert.equal(new Set(copy.ticks.map((t) => `${t.symbol}/${t.seq}`)).size, copy.ticks.length, "no tick twice");
    // Candles closed before the backup began are all there, the same.
    const closedBefore = (d: typeof copy) => d.candles.filter((c) => c.t + 60_000 <= split - 3_000);
    assert.ok(closedBefore(original).length >= 30);
    assert.deepEqual(closedBefore(copy), closedBefore(original));

    // The restored DATA_DIR starts and serves what it holds.
    app = await startApp({ DATA_DIR: restored, SYMBOLS: SYMBOLS.join(",") });
    const stock = await (await fetch(`http://127.0.0.1:${app.port}/api/v1/stocks/AAA`)).json();
    assert.equal(stock.symbol, "AAA");
    const h = await (await fetch(
      `http://127.0.0.1:${app.port}/api/v1/history?symbol=AAA&interval=1m&from=${start}&to=${split}`,
    )).json();
    assert.ok(h.candles.length >= 15, `history after restore: ${h.candles.length}`);
    app.child.kill("SIGTERM");
    assert.equal((await app.finished).code, 0);
  } finally {
    try {
      app.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await app.finished;
    await yahoo.stop();
    await Deno.remove(root, { recursive: true });
  }
});
