/**
 * The web-only entry: pages, REST and WebSocket, with live data from the bus and history from a ClickHouse server.
 * It never loads the ingest path (feeds, actors, writer, chDB), writes no file and needs no FFI or subprocess, so it
 * runs on Deno Deploy (`deno.json` "deploy") and with `--allow-net --allow-env --allow-read` anywhere.
 *
 * `ROLE=web deno task start` reaches the same code through main.ts.
 */
import { subjects } from "./broker/broker.ts";
import { openBooks } from "./roles/books.ts";
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
import { createWeb } from "./roles/web.ts";
import { type Config, storeDatabase } from "./schema/env.ts";
import { openHttpStore } from "./store/http.ts";
import type { Store } from "./store/store.ts";
import { ApiError } from "./routes/errors.ts";
import { timedStore } from "./store/timed_store.ts";

/** A store for a web instance given no CLICKHOUSE_URL: every call fails with a 503 that says what to set. */
function noHistoryStore(database: string): Store {
  // An ApiError, not a StoreError: this is configuration, not an outage, and the message says what to set.
  const fail = () =>
    Promise.reject(
      new ApiError(
        503,
        "history_unavailable",
        "history needs a shared ClickHouse server: set CLICKHOUSE_URL on web instances",
      ),
    );
  return {
    driver: "http",
    database,
    ping: fail,
    exec: fail,
    query: fail,
    insert: fail,
    insertJsonEachRow: fail,
    close: () => Promise.resolve(),
  };
}

/**
 * Starts a web instance of `config` (its role is taken as `web`).
 *
 * @example
 * ```ts
 * const running = await startWeb(parseEnv({ ROLE: "web", NATS_URL: "nats://127.0.0.1:4222" }));
 * ```
 */
export async function startWeb(config: Config, options: StartOptions = {}): Promise<Running> {
  const kv = await openKv(config);
  const metrics = processMetrics();
  const closers: (() => Promise<void> | void)[] = [() => kv.close()];
  const unwind = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  let store: Store;
  let web;
  try {
    const broker = await openBroker(config);
    closers.push(() => broker.close());
    const { url, user, password } = config.clickhouse;
    const database = storeDatabase(config);
    if (url === undefined) log("warn", "no CLICKHOUSE_URL: live data only; history answers 503 until it is set");
    const opened = timedStore(
      url === undefined ? noHistoryStore(database) : await openHttpStore({ url, user, password, database }),
      (op, seconds, ok) => metrics.observe("breadboard_store_seconds", seconds, { op, outcome: ok ? "ok" : "error" }),
    );
    store = opened;
    closers.push(() => opened.close());
    const subj = subjects(config.namespace);
    const books = await openBooks(kv, config, broker, subj, log);
    closers.push(() => books.close());
    const tracked = () => [...new Set([...config.symbols, ...books.watchlists.symbols(), ...books.rules.symbols()])];
    web = await createWeb({
      config: { ...config, role: "web" },
      kv,
      store,
      broker,
      subjects: subj,
      metrics,
      log,
      rules: books.rules,
      watchlists: books.watchlists,
      quotas: books.quotas,
      tracked,
    });
  } catch (err) {
    await unwind();
    throw err;
  }
  const front = serveApp(web.app, config, metrics);
  log("info", `listening on http://localhost:${front.port}/`, {
    port: front.port,
    role: "web",
    store: url(config),
    bus: config.natsUrl === undefined ? "memory" : "nats",
  });
  options.onListen?.(front.port);
  let stopping: Promise<void> | undefined;
  const w = web;
  return {
    port: front.port,
    shutdown() {
      stopping ??= (async () => {
        w.close();
        await front.shutdown();
        await unwind();
        log("info", "stopped", { role: "web" });
      })();
      return stopping;
    },
  };
}

function url(config: Config): string {
  return config.clickhouse.url === undefined ? "none" : new URL(config.clickhouse.url).host;
}

if (import.meta.main) await runProcess({ ...Deno.env.toObject(), ROLE: "web" }, startWeb);
