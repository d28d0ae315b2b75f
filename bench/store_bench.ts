/**
 * Store round trips on embedded chDB, each against `SELECT 1` in the same run (Deno.bench prints the ratio).
 *
 * Seeds 20 symbols x 10,000 ticks, then times: a 5,000-tick insert, a one-symbol one-hour range read, and the
 * trivial query everything is compared with.
 */
import { openEmbeddedStore } from "../store/embedded.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";

const dir = await Deno.makeTempDir({ prefix: "breadboard-bench-" });
const store = await openEmbeddedStore({ path: dir, database: "bench" });
await migrate(store, await loadMigrations());

const SYMBOLS = Array.from({ length: 20 }, (_, i) => `SYM${i}`);
const start = Date.now() - 6 * 3_600_000;
const seed = [];
for (const symbol of SYMBOLS) {
  let price = 100;
  for (let i = 0; i < 10_000; i++) {
    price *= 1 + (Math.random() - 0.5) / 500;
    seed.push({ symbol, time: start + i * 2_000, price, price_raw: price, day_volume: i * 100, source: "bench" });
  }
}
await store.insert("ticks", seed);

function batch(n: number) {
  const t = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    symbol: SYMBOLS[i % SYMBOLS.length],
    time: t + i,
    price: 100 + i / 1000,
    price_raw: 100 + i / 1000,
    day_volume: i,
    source: "bench",
  }));
}

Deno.bench({ name: "SELECT 1", group: "store round trip", baseline: true }, async () => {
  await store.query("SELECT 1 AS one");
});

Deno.bench({ name: "insert 5,000 ticks", group: "store round trip" }, async (b) => {
  const rows = batch(5_000);
  b.start();
  await store.insert("ticks", rows);
  b.end();
});

Deno.bench({ name: "one symbol, one hour of ticks (1,800 rows)", group: "store round trip" }, async () => {
  const from = start + 3_600_000;
  const rows = await store.query(
    `SELECT toUnixTimestamp64Milli(time) AS t, price FROM ticks
      WHERE symbol = {s:String} AND ticks.time >= fromUnixTimestamp64Milli({from:Int64})
        AND ticks.time < fromUnixTimestamp64Milli({to:Int64})
      ORDER BY ticks.time`,
    { s: "SYM7", from, to: from + 3_600_000 },
  );
  if (rows.length !== 1_800) throw new Error(`expected 1,800 rows, got ${rows.length}`);
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});
