/**
 * Composition root: parse config, open KV and the store, migrate, serve. Nothing else lives here.
 *
 * `deno task start` runs it. Tests import {@link createApp}, {@link start} and {@link runMain}.
 */
import { join } from "node:path";
import { type Config, ConfigError, parseEnv } from "./schema/env.ts";
import type { FeedStatus } from "./schema/health.ts";
import { createApp } from "./routes/app.ts";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "./store/migrate.ts";
import { openStore } from "./store/open.ts";

export { createApp } from "./routes/app.ts";

/** Options of {@link start} beyond the configuration. */
export interface StartOptions {
  /** Folder of NNN_name.sql migrations (default schema/clickhouse/). */
  migrationsDir?: URL | string;
  /** Called once with the port the server listens on. */
  onListen?: (port: number) => void;
}

/** A running server. */
export interface Running {
  port: number;
  /** Stops accepting connections, finishes requests in flight, closes the store and KV. Safe to call twice. */
  shutdown(): Promise<void>;
}

function log(level: "info" | "error", msg: string, fields: Record<string, unknown> = {}) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

/**
 * Starts one process: KV file and embedded data under `config.dataDir`, migrations applied, HTTP on `config.port`.
 *
 * Throws (with KV and store closed again) when the store cannot be opened or a migration fails.
 */
export async function start(config: Config, options: StartOptions = {}): Promise<Running> {
  await Deno.mkdir(config.dataDir, { recursive: true });
  const kv = await Deno.openKv(join(config.dataDir, "kv.sqlite3"));
  let store;
  try {
    store = await openStore(config);
    const result = await migrate(store, await loadMigrations(options.migrationsDir ?? MIGRATIONS_DIR));
    log("info", "migrations", { applied: result.applied, alreadyApplied: result.skipped.length });
  } catch (err) {
    await store?.close();
    kv.close();
    throw err;
  }

  const feedStatus: FeedStatus = { state: "stopped", lastTickAt: null };
  const app = createApp({ store, kv, feed: () => feedStatus });
  let port = config.port;
  const server = Deno.serve({
    port: config.port,
    onListen: (addr) => {
      port = addr.port;
      log("info", `listening on http://localhost:${addr.port}/`, {
        port: addr.port,
        store: store.driver,
        dataDir: config.dataDir,
      });
      options.onListen?.(addr.port);
    },
  }, app.fetch);

  let stopping: Promise<void> | undefined;
  return {
    get port() {
      return port;
    },
    shutdown() {
      stopping ??= (async () => {
        await server.shutdown();
        await store.close();
        kv.close();
        log("info", "stopped");
      })();
      return stopping;
    },
  };
}

/**
 * The process entry: parse `env`, start, shut down cleanly on SIGINT/SIGTERM.
 *
 * A bad configuration prints one line and exits 2; a start-up failure (store unreachable, a migration failing)
 * prints one line naming it and exits 1. Neither prints a stack trace.
 */
export async function runMain(env: Record<string, string | undefined>, options: StartOptions = {}): Promise<void> {
  let config: Config;
  try {
    config = parseEnv(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    Deno.exit(2);
  }
  let running: Running;
  try {
    running = await start(config, options);
  } catch (err) {
    console.error(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      log("info", `${signal}: shutting down`);
      running.shutdown().then(() => Deno.exit(0), (err) => {
        log("error", "shutdown failed", { error: String(err) });
        Deno.exit(1);
      });
    });
  }
}

if (import.meta.main) await runMain(Deno.env.toObject());
