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
import { createApp } from "./routes/app.ts";
import type { Config } from "./schema/env.ts";
import { ConfigError, storeDatabase } from "./schema/env.ts";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "./store/migrate.ts";
import { openStore } from "./store/open.ts";
import type { Store } from "./store/store.ts";
import { timedStore } from "./store/timed_store.ts";
import { openBooks } from "./roles/books.ts";
import { type Ingest, startIngest } from "./roles/ingest.ts";
import {
  log,
  openBroker,
  openKv,
  processMetrics,
  type Running,
  runProcess,
  serveApp,
  type StartOptions,
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
  if (config.feed === "replay") {
    const file = config.replay.file!;
    const info = await Deno.stat(file).catch(() => undefined);
    if (!info?.isFile) throw new ConfigError(`REPLAY_FILE ${file} is not a readable file`);
  }
  await Deno.mkdir(config.dataDir, { recursive: true });
  const kv = await openKv(config);
  const metrics = processMetrics();
  const closers: (() => Promise<void> | void)[] = [() => kv.close()];
  const unwind = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  let store: Store;
  let ingest: Ingest;
  let web: Web | undefined;
  let adminToken = "";
  try {
    const broker = await openBroker(config);
    closers.push(() => broker.close());
    // Every store call is timed, the tick writer's inserts included.
    const opened = timedStore(
      await openStore({ ...config, clickhouse: { ...config.clickhouse, database: storeDatabase(config) } }),
      (op, seconds, ok) => metrics.observe("breadboard_store_seconds", seconds, { op, outcome: ok ? "ok" : "error" }),
    );
    store = opened;
    closers.push(() => opened.close());
    const result = await migrate(store, await loadMigrations(options.migrationsDir ?? MIGRATIONS_DIR));
    log("info", "migrations", { applied: result.applied, alreadyApplied: result.skipped.length });
    const subj = subjects(config.namespace);
    const books = await openBooks(kv, config, broker, subj, log);
    closers.push(() => books.close());
    const running = await startIngest({ config, kv, store, broker, subjects: subj, metrics, log, books });
    adminToken = await persistentId(join(config.dataDir, "admin-token"), 0o600);
    ingest = running;
    closers.push(() => running.stop());
    if (config.role === "all") {
      web = await createWeb({
        config,
        kv,
        store,
        broker,
        subjects: subj,
        metrics,
        log,
        rules: books.rules,
        watchlists: books.watchlists,
        quotas: books.quotas,
        tracked: ingest.tracked,
        known: ingest.known,
        feed: ingest.feedStatus,
        admin: { token: adminToken, backup: (dir) => running.backup(dir) },
      });
    }
  } catch (err) {
    await unwind();
    throw err;
  }
  // ROLE=ingest serves health, jobs and metrics for probes and scrapers; ROLE=all the whole product.
  const app = web?.app ?? createApp({
    store,
    kv,
    role: config.role,
    feed: ingest.feedStatus,
    metrics,
    trustProxy: config.trustProxy,
    admin: { token: adminToken, backup: (dir) => ingest.backup(dir) },
  });
  const front = serveApp(app, config, metrics);
  log("info", `listening on http://localhost:${front.port}/`, {
    port: front.port,
    role: config.role,
    store: store.driver,
    database: store.database,
    feed: config.feed,
    bus: config.natsUrl === undefined ? "memory" : "nats",
    dataDir: config.dataDir,
  });
  options.onListen?.(front.port);

  let stopping: Promise<void> | undefined;
  return {
    port: front.port,
    shutdown() {
      stopping ??= (async () => {
        web?.close();
        await front.shutdown();
        await unwind();
        log("info", "stopped", { role: config.role });
      })();
      return stopping;
    },
  };
}

/** The process entry for every role (see roles/process.ts for exit codes). */
export function runMain(env: Record<string, string | undefined>, options: StartOptions = {}): Promise<void> {
  return runProcess(env, start, options);
}

if (import.meta.main) await runMain(Deno.env.toObject());
