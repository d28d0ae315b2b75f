/**
 * `deno task restore <backup dir> <new DATA_DIR>`: builds a DATA_DIR from a backup (KV file and embedded ClickHouse
 * tables), for an instance started on it afterwards. Refuses a DATA_DIR that already holds data.
 */
import { join } from "node:path";
import { type BackupManifest, importTables, loadKv } from "./backup.ts";
import { openEmbeddedStore } from "../store/embedded.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";

const [from, dataDir] = Deno.args;
if (!from || !dataDir) {
  console.error("usage: deno task restore <backup dir> <new DATA_DIR>");
  Deno.exit(2);
}
const manifest = JSON.parse(await Deno.readTextFile(join(from, "manifest.json"))) as BackupManifest;
for (const existing of ["kv.sqlite3", "clickhouse"]) {
  if (await Deno.stat(join(dataDir, existing)).then(() => true, () => false)) {
    console.error(`${dataDir} already holds ${existing}: restore into an empty DATA_DIR`);
    Deno.exit(2);
  }
}
const started = performance.now();
await Deno.mkdir(dataDir, { recursive: true });
const store = await openEmbeddedStore({ path: join(dataDir, "clickhouse"), database: manifest.database });
try {
  await migrate(store, await loadMigrations());
  await importTables(store, from);
} finally {
  await store.close();
}
const kv = await Deno.openKv(join(dataDir, "kv.sqlite3"));
let entries: number;
try {
  entries = await loadKv(kv, join(from, "kv.bin"));
} finally {
  kv.close();
}
console.log(JSON.stringify({
  restored: dataDir,
  database: manifest.database,
  kvEntries: entries,
  ticks: manifest.tables.ticks?.rows,
  seconds: Math.round(performance.now() - started) / 1000,
}));
