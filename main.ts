/**
 * Composition root: parse config, open KV, the broker and the store, start the role's parts, serve.
 *
 * `deno task start` runs it. ROLE=all (default) runs ingest and web in one process on an in-memory broker;
 * ROLE=ingest and ROLE=web split them across instances that share KV, NATS and ClickHouse. web.ts is the web-only
 * entry (Deno Deploy). Tests import {@link createApp}, {@link start} and {@link runMain}.
 */
import { join } from "node:path";
import { subjects } from "./broker/broker.ts";
import { persistentId } from "./store/persistent_id.ts";
import type { Hono } from "hono";
import { createApp } from "./routes/app.ts";
import type { Config } from "./schema/env.ts";
import { storeDatabase } from "./schema/env.ts";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "./store/migrate.ts";
import { openStore } from "./store/open.ts";
import type { Store } from "./store/store.ts";
import { openBooks } from "./roles/books.ts";
import { startIngest } from "./roles/ingest.ts";
import { openNotify } from "./roles/notify.ts";
import {
  Closers,
  log,
  openBroker,
  openKv,
  processMetrics,
  type Running,
  runProcess,
  serveProcess,
  type StartOptions,
  timed,
} from "./roles/process.ts";
import { createWeb, type Web } from "./roles/web.ts";

export { createApp } from "./routes/app.ts";
export type { Running, StartOptions } from "./roles/process.ts";

/**
 * Starts one process of `config.role`: for `all` and `ingest`, the KV file and embedded data under
 * `config.dataDir` and migrations applied; HTTP on `config.port`.
 *
 * Throws (with everything opened so far closed again) when the store cannot be opened, a migration fails, or another
 * member shares the KV without NATS_URL.
 */
export async function start(config: Config, options: StartOptions = {}): Promise<Running> {
  if (config.role === "web") {
    const { startWeb } = await import("./web.ts");
    return await startWeb(config, options);
  }
  await Deno.mkdir(config.dataDir, { recursive: true });
  const kv = await openKv(config);
  const metrics = processMetrics();
  const closers = new Closers();
  closers.add(() => kv.close());
  let app: Hono;
  let web: Web | undefined;
  let store: Store;
  try {
    const broker = await openBroker(config);
    closers.add(() => broker.close());
    // Every store call is timed, the tick writer's inserts included.
    const opened = timed(
      await openStore({ ...config, clickhouse: { ...config.clickhouse, database: storeDatabase(config) } }),
      metrics,
    );
    store = opened;
    closers.add(() => opened.close());
    const result = await migrate(store, await loadMigrations(options.migrationsDir ?? MIGRATIONS_DIR));
    log("info", "migrations", { applied: result.applied, alreadyApplied: result.skipped.length });
    const parts = { config, kv, store, broker, subjects: subjects(config.namespace), metrics, log };
    const books = await openBooks(kv, config, broker, parts.subjects, log, metrics);
    closers.add(() => books.close());
    const notify = await openNotify(config, kv, books.quotas, log, true);
    closers.add(() => notify.close());
    const ingest = await startIngest({ ...parts, books, notify });
    closers.add(() => ingest.stop());
    const admin = {
      token: await persistentId(join(config.dataDir, "admin-token"), 0o600),
      backup: (dir: string) => ingest.backup(dir),
      ...(ingest.backfill ? { backfill: ingest.backfill } : {}),
    };
    // ROLE=all serves the whole product; ROLE=ingest health, jobs and metrics for probes and scrapers.
    web = config.role === "all"
      ? createWeb({ ...parts, books, notify, known: ingest.known, feed: ingest.feedStatus, admin })
      : undefined;
    app = web?.app ??
      createApp({
        store,
        kv,
        role: config.role,
        feed: ingest.feedStatus,
        metrics,
        trustProxy: config.trustProxy,
        admin,
      });
  } catch (err) {
    await closers.closeAll();
    throw err;
  }
  const fields = {
    role: config.role,
    store: store.driver,
    database: store.database,
    feed: config.feed,
    dataDir: config.dataDir,
  };
  return serveProcess(app, config, metrics, closers, fields, options, () => web?.close());
}

/** The process entry for every role (see roles/process.ts for exit codes). */
export function runMain(env: Record<string, string | undefined>, options: StartOptions = {}): Promise<void> {
  return runProcess(env, start, options);
}

if (import.meta.main) await runMain(Deno.env.toObject());
