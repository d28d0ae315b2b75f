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
import { openNotify } from "./roles/notify.ts";
import { createWeb, type Web } from "./roles/web.ts";
import { type Config, storeDatabase } from "./schema/env.ts";
import { openHttpStore } from "./store/http.ts";
import type { Store } from "./store/store.ts";
import { ApiError } from "./routes/errors.ts";

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
  const closers = new Closers();
  closers.add(() => kv.close());
  let web: Web;
  try {
    const broker = await openBroker(config);
    closers.add(() => broker.close());
    const { url, user, password } = config.clickhouse;
    const database = storeDatabase(config);
    if (url === undefined) log("warn", "no CLICKHOUSE_URL: live data only; history answers 503 until it is set");
    const store = timed(
      url === undefined ? noHistoryStore(database) : await openHttpStore({ url, user, password, database }),
      metrics,
    );
    closers.add(() => store.close());
    const subj = subjects(config.namespace);
    const books = await openBooks(kv, config, broker, subj, log, metrics);
    closers.add(() => books.close());
    const notify = await openNotify(config, kv, books.quotas, log, false);
    web = createWeb({
      config: { ...config, role: "web" },
      kv,
      store,
      broker,
      subjects: subj,
      metrics,
      log,
      books,
      notify,
    });
  } catch (err) {
    await closers.closeAll();
    throw err;
  }
  return serveProcess(web.app, config, metrics, closers, { role: "web", store: url(config) }, options, web.close);
}

function url(config: Config): string {
  return config.clickhouse.url === undefined ? "none" : new URL(config.clickhouse.url).host;
}

if (import.meta.main) await runProcess({ ...Deno.env.toObject(), ROLE: "web" }, startWeb);
