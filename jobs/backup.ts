/**
 * Backup and restore of a single-process instance's data: Deno KV (rules, watchlists, users, actor snapshots, the
 * notification outbox) and the embedded ClickHouse tables.
 *
 * A backup is a folder: `kv.bin` (every KV entry, length-prefixed V8 serializations) and `<table>.native.zst` per
 * table (ClickHouse's Native format, zstd-compressed), plus `manifest.json`. Consistency: the running process snapshots its actors, then KV
 * is copied, then the write-ahead log is flushed and the tables exported. Every tick accepted before the backup
 * began is in the tables, and the tables are at least as new as KV, so a restored instance replays the actors from
 * their snapshots over the ticks after them and ends where the original was.
 */
import { deserialize, serialize } from "node:v8";
import { join } from "node:path";
import type { Store } from "../store/store.ts";

/** Tables a backup holds, in restore order. */
export const BACKUP_TABLES = ["schema_migrations", "ticks", "candles_1m", "candles_1d", "alerts", "job_runs"] as const;

/** What a backup wrote. */
export interface BackupManifest {
  createdAt: number;
  database: string;
  kvEntries: number;
  tables: Record<string, { rows: number; bytes: number }>;
  /** Ticks accepted (fsynced) when the backup began: all of them are in `ticks.native`. */
  ticksAcceptedBefore: number;
}

/**
 * Runtime coordination, not data: which process holds which symbol, and who is alive. A restored instance is a new
 * member and takes its symbols afresh, so these are neither backed up nor restored.
 */
const COORDINATION = new Set(["member", "lease"]);

/** A KvU64 does not survive V8 serialization as itself: it travels as this marker. */
interface U64 {
  __kvu64: string;
}

/**
 * Copies every entry of `kv` into `file`.
 *
 * @returns the number of entries
 */
export async function dumpKv(kv: Deno.Kv, file: string): Promise<number> {
  const out = await Deno.open(file, { write: true, create: true, truncate: true, mode: 0o600 });
  let n = 0;
  try {
    for await (const e of kv.list({ prefix: [] })) {
      if (COORDINATION.has(String(e.key[0]))) continue;
      const value = e.value instanceof Deno.KvU64 ? { __kvu64: e.value.value.toString() } satisfies U64 : e.value;
      const body = serialize([e.key, value]);
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, body.length);
      await out.write(head);
      for (let off = 0; off < body.length;) off += await out.write(body.subarray(off));
      n++;
    }
  } finally {
    out.close();
  }
  return n;
}

/**
 * Writes every entry of a {@link dumpKv} file into `kv`.
 *
 * @returns the number of entries
 */
export async function loadKv(kv: Deno.Kv, file: string): Promise<number> {
  const bytes = await Deno.readFile(file);
  let n = 0;
  for (let off = 0; off < bytes.length;) {
    const len = new DataView(bytes.buffer, bytes.byteOffset + off, 4).getUint32(0);
    const [key, raw] = deserialize(bytes.subarray(off + 4, off + 4 + len)) as [Deno.KvKey, unknown];
    off += 4 + len;
    if (COORDINATION.has(String(key[0]))) continue;
    const value = raw && typeof raw === "object" && "__kvu64" in raw
      ? new Deno.KvU64(BigInt((raw as U64).__kvu64))
      : raw;
    await kv.set(key, value);
    n++;
  }
  return n;
}

/** Exports each table of `store` into `dir` in Native format. */
export async function exportTables(store: Store, dir: string): Promise<BackupManifest["tables"]> {
  const out: BackupManifest["tables"] = {};
  for (const t of BACKUP_TABLES) {
    const file = join(dir, `${t}.native.zst`);
    await Deno.remove(file).catch(() => {});
    const [{ n }] = await store.query<{ n: string | number }>(`SELECT count() AS n FROM ${t}`) as [{ n: number }];
    await store.exec(
      `SELECT * FROM ${t} INTO OUTFILE '${file.replaceAll("'", "\\'")}' COMPRESSION 'zstd' LEVEL 3 FORMAT Native`,
    );
    out[t] = { rows: Number(n), bytes: (await Deno.stat(file)).size };
  }
  return out;
}

/** Loads the tables of a backup folder into `store` (migrated, empty). */
export async function importTables(store: Store, dir: string): Promise<void> {
  for (const t of BACKUP_TABLES) {
    const file = join(dir, `${t}.native.zst`);
    if (t === "schema_migrations") await store.exec("TRUNCATE TABLE schema_migrations");
    await store.exec(`INSERT INTO ${t} FROM INFILE '${file.replaceAll("'", "\\'")}' COMPRESSION 'zstd' FORMAT Native`);
  }
}
