/**
 * Backup and restore of the embedded store: 2,000,000 ticks (about 13 minutes at 2,500 ticks/s) exported to Native
 * files and loaded into a fresh store, against copying the same bytes with Deno.copyFile (baseline). Prints the
 * figures and their extrapolation to one day at 2,500 ticks/s (216 M ticks).
 */
import { join } from "node:path";
import { exportTables, importTables } from "../jobs/backup.ts";
import { openEmbeddedStore } from "../store/embedded.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";
import { once } from "./harness.ts";

const N = 2_000_000;
const DAY = 2_500 * 86_400;
const dir = await Deno.makeTempDir({ prefix: "breadboard-backup-bench-" });
const out = join(dir, "backup");
await Deno.mkdir(out);
const source = await openEmbeddedStore({ path: join(dir, "a"), database: "bench" });
await migrate(source, await loadMigrations());
const t0 = Date.now() - 86_400_000;
await source.exec(
  `INSERT INTO ticks (symbol, time, price, price_raw, day_volume, last_size, source, quote_type, market_hours, seq)
   SELECT concat('S', toString(number % 500)), fromUnixTimestamp64Milli(toInt64(${t0} + intDiv(number, 500) * 200)),
          100 + (number % 977) / 100, 100 + (number % 977) / 100, number, 10, 'yahoo', 'equity', 'regular',
          ${t0 * 1000} + number
   FROM numbers(${N})`,
);
let exported = { seconds: 0, bytes: 0 };
const backup = once(async () => {
  const s = performance.now();
  const tables = await exportTables(source, out);
  exported = {
    seconds: (performance.now() - s) / 1000,
    bytes: Object.values(tables).reduce((n, t) => n + t.bytes, 0),
  };
  console.log(
    `backup: ${N} ticks, ${(exported.bytes / 2 ** 20).toFixed(1)} MiB in ${
      exported.seconds.toFixed(2)
    } s; one day at ` +
      `2,500 ticks/s ≈ ${(exported.bytes / N * DAY / 2 ** 30).toFixed(1)} GiB in ≈ ${
        (exported.seconds / N * DAY / 60).toFixed(0)
      } min`,
  );
});
const restore = once(async () => {
  await backup();
  const target = await openEmbeddedStore({ path: join(dir, "a"), database: "restored" });
  await migrate(target, await loadMigrations());
  const s = performance.now();
  await importTables(target, out);
  const seconds = (performance.now() - s) / 1000;
  console.log(`restore: ${seconds.toFixed(2)} s; one day ≈ ${(seconds / N * DAY / 60).toFixed(0)} min`);
});
const copy = once(async () => {
  await backup();
  const s = performance.now();
  await Deno.copyFile(join(out, "ticks.native.zst"), join(dir, "copy.native.zst"));
  const seconds = (performance.now() - s) / 1000;
  console.log(
    `copying the same bytes: ${seconds.toFixed(2)} s (backup is ${(exported.seconds / seconds).toFixed(1)}x)`,
  );
});
Deno.bench({ name: "copy the exported bytes", group: "backup", baseline: true, n: 1, warmup: 0 }, async () => {
  await copy();
});
Deno.bench({ name: "backup (export tables)", group: "backup", n: 1, warmup: 0 }, async () => {
  await backup();
});
Deno.bench({ name: "restore (load tables)", group: "backup", n: 1, warmup: 0 }, async () => {
  await restore();
});
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
