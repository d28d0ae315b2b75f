/**
 * What every role's process has in common: the log, KV, the broker, the runtime metrics, the public HTTP front and
 * the signal handling. Nothing here imports the ingest path (feeds, actors, chDB), so the web entry (web.ts) stays
 * loadable on Deno Deploy.
 */
import type { Hono } from "hono";
import process from "node:process";
import { type Broker, MemoryBroker } from "../broker/broker.ts";
import { NatsBroker } from "../broker/nats.ts";
import {
  defaultMaxConnections,
  type GuardedServer,
  openFileCount,
  openFileLimit,
  serveGuarded,
} from "../routes/conn_guard.ts";
import { Metrics } from "../routes/metrics.ts";
import type { ServeEnv } from "../routes/client_address.ts";
import { WS_MAX_MESSAGE_BYTES } from "../routes/ws.ts";
import { type Config, ConfigError, parseEnv } from "../schema/env.ts";
import type { Subjects } from "../broker/broker.ts";
import type { Store } from "../store/store.ts";
import { timedStore } from "../store/timed_store.ts";

/** Structured log line writer: info to stdout, the rest to stderr, one JSON object per line. */
export type { Logger } from "../schema/log.ts";
import type { Logger } from "../schema/log.ts";

/** The process log. */
export const log: Logger = (level, msg, fields = {}) => {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level !== "info") console.error(line);
  else console.log(line);
};

/** What every role is built from: the process's configuration, KV, store, bus, metrics and log. */
export interface RoleDeps {
  config: Config;
  kv: Deno.Kv;
  store: Store;
  broker: Broker;
  subjects: Subjects;
  metrics: Metrics;
  log: Logger;
}

/** What a process opened, closed again in reverse order (at shutdown, or when start-up fails halfway). */
export class Closers {
  readonly #list: (() => Promise<void> | void)[] = [];

  add(close: () => Promise<void> | void): void {
    this.#list.push(close);
  }

  async closeAll(): Promise<void> {
    for (const c of this.#list.splice(0).reverse()) await c();
  }
}

/** `store` with every call timed into `breadboard_store_seconds`. */
export function timed(store: Store, metrics: Metrics): Store {
  return timedStore(
    store,
    (op, seconds, ok) => metrics.observe("breadboard_store_seconds", seconds, { op, outcome: ok ? "ok" : "error" }),
  );
}

/**
 * Serves `app`, logs where (with `fields`), and returns the running process: its shutdown runs `beforeClose` (closing
 * sockets), stops the HTTP front, then closes everything in `closers`.
 */
export async function serveProcess(
  app: Hono,
  config: Config,
  metrics: Metrics,
  closers: Closers,
  fields: Record<string, unknown>,
  options: StartOptions,
  beforeClose: () => void = () => {},
): Promise<Running> {
  const front = await serveApp(app, config, metrics);
  log("info", `listening on http://localhost:${front.port}/`, {
    port: front.port,
    bus: config.natsUrl === undefined ? "memory" : "nats",
    ...fields,
  });
  options.onListen?.(front.port);
  let stopping: Promise<void> | undefined;
  return {
    port: front.port,
    shutdown() {
      stopping ??= (async () => {
        beforeClose();
        await front.shutdown();
        await closers.closeAll();
        log("info", "stopped", { role: fields.role });
      })();
      return stopping;
    },
  };
}

/** Options of a role's start function. */
export interface StartOptions {
  /** Folder of NNN_name.sql migrations (default schema/clickhouse/). */
  migrationsDir?: URL | string;
  /** Called once with the port the server listens on. */
  onListen?: (port: number) => void;
}

/** A running process. */
export interface Running {
  port: number;
  /** Stops accepting connections, finishes requests in flight, closes everything. Safe to call twice. */
  shutdown(): Promise<void>;
}

/**
 * Opens the KV the configuration names: a file or KV Connect URL (KV_PATH), or the platform's default database
 * when none is configured (Deno Deploy).
 */
export function openKv(config: Pick<Config, "kvPath">): Promise<Deno.Kv> {
  return config.kvPath === undefined ? Deno.openKv() : Deno.openKv(config.kvPath);
}

/** The broker the configuration names: NATS when NATS_URL is set, else the in-process one. */
export async function openBroker(config: Pick<Config, "natsUrl">): Promise<Broker> {
  if (config.natsUrl === undefined) return new MemoryBroker();
  log("info", "connecting to NATS", { servers: config.natsUrl });
  return await NatsBroker.connect({ servers: config.natsUrl, log });
}

/** The process metrics registry, with the store latency histogram and the runtime gauges declared. */
export function processMetrics(): Metrics {
  const metrics = new Metrics().histogram(
    "breadboard_store_seconds",
    "ClickHouse call latency by operation and outcome",
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    ["op", "outcome"],
  );
  // The loop's lag is how late a 100 ms timer fires; the gauge shows the worst since the last scrape.
  let expected = performance.now() + 100;
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - expected);
    expected = now + 100;
  }, 100);
  Deno.unrefTimer(timer);
  return metrics
    .gauge("breadboard_js_heap_bytes", "JavaScript heap in use", () => Deno.memoryUsage().heapUsed)
    .gauge("process_resident_memory_bytes", "Resident memory of the process", () => Deno.memoryUsage().rss)
    .counterFrom("process_cpu_seconds_total", "User and system CPU time of the process", () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    })
    .gauge("breadboard_event_loop_lag_seconds", "Worst event-loop delay since the last scrape", () => {
      const lag = Math.max(0, worst) / 1000;
      worst = 0;
      return lag;
    });
}

/** The public HTTP server of a process. */
export interface Front {
  port: number;
  shutdown(): Promise<void>;
}

/**
 * Serves `app` on `config.port`. Self-hosted, behind the connection guard (timeouts, caps, accept errors); on Deno
 * Deploy (`DENO_DEPLOYMENT_ID` set), with plain `Deno.serve`, since the platform owns the connections there.
 */
export async function serveApp(app: Hono, config: Config, metrics: Metrics): Promise<Front> {
  if (Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined || !config.http.guard) {
    // The guard relays every byte through JavaScript (about a third of a small request's cost); where the platform
    // or a proxy in front owns the client connections, it only costs.
    const server = Deno.serve(
      { port: config.port, onListen: () => {} },
      (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr } satisfies ServeEnv),
    );
    return { port: server.addr.port, shutdown: () => server.shutdown() };
  }
  const fileLimit = openFileLimit();
  const maxConnections = config.http.maxConnections ?? defaultMaxConnections(fileLimit);
  if (fileLimit !== undefined && maxConnections > defaultMaxConnections(fileLimit)) {
    log("warn", "MAX_CONNECTIONS is above what the open-file limit allows; idle connections will be shed", {
      maxConnections,
      openFileLimit: fileLimit,
    });
  }
  const front = await serveGuarded(
    (req, remoteAddr, wsOutlet) => app.fetch(req, { remoteAddr, wsOutlet } satisfies ServeEnv),
    {
      port: config.port,
      maxConnections,
      // Behind a proxy every connection comes from the proxy's address: only the total cap applies.
      maxPerAddress: config.trustProxy ? maxConnections : config.http.maxConnectionsPerIp,
      headerTimeoutMs: config.http.headerTimeoutMs,
      idleTimeoutMs: config.http.idleTimeoutMs,
      maxWsMessageBytes: WS_MAX_MESSAGE_BYTES,
      log,
    },
  );
  declareConnMetrics(metrics, front);
  return { port: front.addr.port, shutdown: () => front.shutdown() };
}

function declareConnMetrics(metrics: Metrics, guard: GuardedServer): void {
  metrics
    .gauge("breadboard_http_connections", "Open client connections", () => guard.stats().open)
    .gauge("process_open_fds", "Open file descriptors of the process", () => openFileCount() ?? 0)
    .counterFrom(
      "breadboard_http_connections_closed_total",
      "Client connections closed by the guard, by reason",
      () => {
        const s = guard.stats();
        return {
          refused: s.refused,
          evicted: s.evicted,
          timed_out: s.timedOut,
          bad_request: s.badRequests,
          ws_too_large: s.oversizeWsMessages,
        };
      },
      "reason",
    )
    .counterFrom(
      "breadboard_http_accept_errors_total",
      "Accept calls that failed (out of descriptors)",
      () => guard.stats().acceptErrors,
    );
}

/**
 * A process entry: parse `env`, start, shut down cleanly on SIGINT/SIGTERM.
 *
 * A bad configuration prints one line and exits 2; a start-up failure (store unreachable, a migration failing)
 * prints one line naming it and exits 1. Neither prints a stack trace.
 */
export async function runProcess(
  env: Record<string, string | undefined>,
  start: (config: Config, options: StartOptions) => Promise<Running>,
  options: StartOptions = {},
): Promise<void> {
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
    if (err instanceof ConfigError) {
      console.error(err.message);
      Deno.exit(2);
    }
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
