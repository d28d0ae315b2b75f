/** Table dumps for backup and restore: each table to and from a zstd-compressed Native file. */
import { join } from "node:path";
import type { Store } from "./store.ts";

/** Tables a backup holds, in restore order. */
export const BACKUP_TABLES = ["schema_migrations", "ticks", "candles_1m", "candles_1d", "alerts", "job_runs"] as const;

/** A file path as a ClickHouse string literal (the engine reads and writes the file itself). */
const literal = (file: string) => `'${file.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/**
 * Exports each table of `store` into `dir` as `<table>.native.zst` (ClickHouse Native format, zstd); the engine
 * writes the files, so this works with the embedded store only.
 *
 * @returns rows and bytes per table
 * @example
 * ```ts
 * const tables = await exportTables(store, "/backups/2026-11-21");
 * ```
 */
export async function exportTables(
  store: Store,
  dir: string,
): Promise<Record<string, { rows: number; bytes: number }>> {
  const out: Record<string, { rows: number; bytes: number }> = {};
  for (const t of BACKUP_TABLES) {
    const file = join(dir, `${t}.native.zst`);
    await Deno.remove(file).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    const [row] = await store.query<{ n: string | number }>(`SELECT count() AS n FROM ${t}`);
    await store.exec(`SELECT * FROM ${t} INTO OUTFILE ${literal(file)} COMPRESSION 'zstd' LEVEL 3 FORMAT Native`);
    out[t] = { rows: Number(row?.n ?? 0), bytes: (await Deno.stat(file)).size };
  }
  return out;
}

/**
 * Loads the tables of a backup folder into `store` (migrated, empty); schema_migrations is replaced by the backup's.
 *
 * @example
 * ```ts
 * await importTables(store, "/backups/2026-11-21");
 * ```
 */
export async function importTables(store: Store, dir: string): Promise<void> {
  for (const t of BACKUP_TABLES) {
    const file = join(dir, `${t}.native.zst`);
    if (t === "schema_migrations") await store.exec("TRUNCATE TABLE schema_migrations");
    await store.exec(`INSERT INTO ${t} FROM INFILE ${literal(file)} COMPRESSION 'zstd' FORMAT Native`);
  }
}
