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

export { BACKUP_TABLES, exportTables, importTables } from "../store/dump.ts";
import { exportTables } from "../store/dump.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../schema/log.ts";
import { ApiError } from "../routes/errors.ts";

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

/** What {@link backupRunning} reads from the running process. */
export interface RunningParts {
  kv: Deno.Kv;
  store: Store;
  /** Snapshots every actor to KV. */
  checkpoint: () => Promise<void>;
  /** Inserts everything the writer logged. */
  flush: () => Promise<void>;
  /** Ticks fsynced so far. */
  acceptedTicks: () => number;
  log: Logger;
}

/**
 * Backs the running process's KV and embedded tables up into `dir`: actor snapshots first, then KV, then the
 * flushed tables, so the tables end up at least as new as the snapshots in KV. With a ClickHouse server the
 * server's own BACKUP is the tool, and this refuses.
 *
 * @example
 * ```ts
 * const manifest = await backupRunning(parts, "/backups/2026-11-21");
 * ```
 */
export async function backupRunning(p: RunningParts, dir: string): Promise<BackupManifest> {
  if (p.store.driver !== "embedded") {
    throw new ApiError(
      409,
      "not_supported",
      "with CLICKHOUSE_URL, back the tables up on the ClickHouse server (BACKUP DATABASE); see docs/operations.md",
    );
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const ticksAcceptedBefore = p.acceptedTicks();
  await p.checkpoint();
  const kvEntries = await dumpKv(p.kv, join(dir, "kv.bin"));
  await p.flush();
  const tables = await exportTables(p.store, dir);
  const manifest: BackupManifest = {
    createdAt: started,
    database: p.store.database,
    kvEntries,
    tables,
    ticksAcceptedBefore,
  };
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  p.log("info", "backup written", { dir, kvEntries, ms: Date.now() - started, ticks: tables.ticks?.rows });
  return manifest;
}
