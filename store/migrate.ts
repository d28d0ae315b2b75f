import { join } from "node:path";
import { splitStatements } from "./sql.ts";
import type { Store } from "./store.ts";

/** One schema migration file, `NNN_name.sql`. */
export interface Migration {
  version: number;
  /** File name, e.g. `001_ticks.sql`. */
  name: string;
  /** Statements of the file, in order. */
  statements: string[];
  /** SHA-256 of the file text; an applied migration whose file later changes stops start-up. */
  checksum: string;
}

/** Raised when a migration cannot be loaded or applied; the message starts with the migration's file name. */
export class MigrationError extends Error {
  override name = "MigrationError";
  constructor(readonly migration: string, message: string, options?: ErrorOptions) {
    super(`migration ${migration} ${message}`, options);
  }
}

/** The migrations shipped with the app: schema/clickhouse/. */
export const MIGRATIONS_DIR = new URL("../schema/clickhouse/", import.meta.url);

const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * Reads every `NNN_name.sql` in `dir` (a path, or a URL ending in `/`), sorted by number.
 *
 * Other files are ignored. Two files with one number, or a file with no statement, throw {@link MigrationError}.
 */
export async function loadMigrations(dir: URL | string = MIGRATIONS_DIR): Promise<Migration[]> {
  const found: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = entry.isFile ? FILE.exec(entry.name) : null;
    if (!m) continue;
    const text = await Deno.readTextFile(dir instanceof URL ? new URL(entry.name, dir) : join(dir, entry.name));
    const statements = splitStatements(text);
    if (statements.length === 0) throw new MigrationError(entry.name, "has no statement");
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    const checksum = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    found.push({ version: Number(m[1]), name: entry.name, statements, checksum });
  }
  found.sort((a, b) => a.version - b.version);
  for (let i = 1; i < found.length; i++) {
    if (found[i]!.version === found[i - 1]!.version) {
      throw new MigrationError(found[i]!.name, `has the same number as ${found[i - 1]!.name}`);
    }
  }
  return found;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Names of the migrations applied by this call, in order. */
  applied: string[];
  /** Names already recorded before this call. */
  skipped: string[];
}

/**
 * Applies, in order, every migration not yet recorded in `schema_migrations`, recording each after it succeeds.
 *
 * A second call applies nothing. The first failing migration stops the run with a {@link MigrationError} naming it;
 * later ones are not tried. ClickHouse has no transactional DDL, so migration files use `IF NOT EXISTS` and a
 * half-applied file is safe to run again once fixed. A recorded migration whose file changed also throws.
 *
 * @example
 * ```ts
 * const result = await migrate(store, await loadMigrations());
 * result.applied; // the migrations run now; the rest were applied before
 * ```
 */
export async function migrate(store: Store, migrations: readonly Migration[]): Promise<MigrateResult> {
  await store.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version UInt32,
       name String,
       checksum String,
       applied_at DateTime64(3, 'UTC')
     ) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  );
  const rows = await store.query<{ version: number; name: string; checksum: string }>(
    "SELECT version, name, checksum FROM schema_migrations FINAL ORDER BY version",
  );
  const recorded = new Map(rows.map((r) => [r.version, r]));
  const result: MigrateResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    const done = recorded.get(m.version);
    if (done) {
      if (done.checksum !== m.checksum) {
        throw new MigrationError(
          m.name,
          "was changed after it was applied; add a new migration file instead of editing an applied one",
        );
      }
      result.skipped.push(m.name);
      continue;
    }
    for (const [i, sql] of m.statements.entries()) {
      try {
        await store.exec(sql);
      } catch (err) {
        throw new MigrationError(
          m.name,
          `failed at statement ${i + 1}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    await store.insert("schema_migrations", [{
      version: m.version,
      name: m.name,
      checksum: m.checksum,
      applied_at: Date.now(),
    }]);
    result.applied.push(m.name);
  }
  return result;
}
