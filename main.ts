/**
 * Composition root: parse config, open KV and the store, migrate, serve. Nothing else lives here.
 *
 * `deno task start` runs it. Tests import {@link createApp}, {@link start} and {@link runMain}.
 */
import { join } from "node:path";
import { AlertBus } from "./actors/alert_bus.ts";
import { LeaseManager } from "./actors/lease.ts";
import { RuleBook } from "./actors/rule_book.ts";
import { WatchlistBook } from "./actors/watchlist_book.ts";
import { Quotas } from "./actors/user_quota.ts";
import { closeCandle } from "./actors/candle.ts";
import { keys } from "./actors/keys.ts";
import type { ActorSnapshot } from "./actors/symbol_actor.ts";
import { ActorSystem } from "./actors/system.ts";
import { RollingWindow } from "./actors/window.ts";
import { WINDOW_MS, WINDOWS } from "./schema/rule.ts";
import { Hub, WS_MAX_MESSAGE_BYTES } from "./routes/ws.ts";
import {
  defaultMaxConnections,
  type GuardedServer,
  openFileCount,
  openFileLimit,
  serveGuarded,
} from "./routes/conn_guard.ts";
import type { Feed } from "./feeds/feed.ts";
import { createIngestSink, declareIngestMetrics } from "./feeds/ingest.ts";
import { MassiveFeed } from "./feeds/massive.ts";
import { createMassiveDecoder } from "./feeds/massive_decode.ts";
import { Recorder } from "./feeds/recorder.ts";
import { ReplayFeed } from "./feeds/replay.ts";
import { SyntheticFeed } from "./feeds/synthetic.ts";
import { YahooFeed } from "./feeds/yahoo.ts";
import { createYahooDecoder } from "./feeds/yahoo_decode.ts";
import { createYahooRest } from "./feeds/yahoo_rest.ts";
import { runOhlcvFetch } from "./jobs/ohlcv_job.ts";
import { politeFetch } from "./jobs/polite_fetch.ts";
import { historyProvider } from "./jobs/providers.ts";
import { OHLCV_JOB, scheduleJob } from "./jobs/schedule.ts";
import { createApp } from "./routes/app.ts";
import { ChannelBook } from "./notify/channel_book.ts";
import { smtpMailer } from "./notify/email.ts";
import { natsPublisher } from "./notify/nats.ts";
import { Outbox } from "./notify/outbox.ts";
import { loadVapidKeys } from "./notify/web_push.ts";
import { SymbolSearch } from "./routes/api/search.ts";
import { Metrics } from "./routes/metrics.ts";
import { timedStore } from "./store/timed_store.ts";
import { type Config, ConfigError, parseEnv } from "./schema/env.ts";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "./store/migrate.ts";
import { openStore } from "./store/open.ts";
import { persistentId } from "./store/persistent_id.ts";
import type { Store } from "./store/store.ts";
import { TickWriter } from "./store/tick_writer.ts";

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

function log(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level !== "info") console.error(line);
  else console.log(line);
}

/**
 * Starts one process: KV file and embedded data under `config.dataDir`, migrations applied, HTTP on `config.port`.
 *
 * Throws (with KV and store closed again) when the store cannot be opened or a migration fails.
 */
export async function start(config: Config, options: StartOptions = {}): Promise<Running> {
  // Synthetic and replayed ticks never share a database or a log with a live feed.
  const isolated = config.feed === "synthetic" || config.feed === "replay" ? config.feed : undefined;
  const storeConfig = isolated
    ? { ...config, clickhouse: { ...config.clickhouse, database: `${config.clickhouse.database}_${isolated}` } }
    : config;
  if (config.feed === "replay") {
    const file = config.replay.file!;
    const info = await Deno.stat(file).catch(() => undefined);
    if (!info?.isFile) throw new ConfigError(`REPLAY_FILE ${file} is not a readable file`);
  }
  await Deno.mkdir(config.dataDir, { recursive: true });
  const kv = await Deno.openKv(config.kvPath);
  const metrics = new Metrics().histogram(
    "breadboard_store_seconds",
    "ClickHouse call latency by operation and outcome",
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  );
  let store: Store | undefined;
  let writer: TickWriter;
  try {
    // Every store call is timed, the tick writer's inserts included.
    store = timedStore(
      await openStore(storeConfig),
      (op, seconds, ok) => metrics.observe("breadboard_store_seconds", seconds, { op, outcome: ok ? "ok" : "error" }),
    );
    const result = await migrate(store, await loadMigrations(options.migrationsDir ?? MIGRATIONS_DIR));
    log("info", "migrations", { applied: result.applied, alreadyApplied: result.skipped.length });
    writer = await TickWriter.open(store, join(config.dataDir, isolated ? `wal-${isolated}` : "wal"), {
      onError: (err) => log("warn", "tick insert failed; ticks stay in the write-ahead log", { error: String(err) }),
    });
  } catch (err) {
    await store?.close();
    kv.close();
    throw err;
  }
  const openedStore = store;
  declareIngestMetrics(metrics);
  metrics
    .gauge("breadboard_ticks_stored", "Ticks inserted into ClickHouse since start", () => writer.stats().stored)
    .gauge(
      "breadboard_tick_backlog_bytes",
      "Logged tick bytes not yet in ClickHouse",
      () => writer.stats().backlogBytes,
    )
    .gauge("breadboard_store_up", "1 when the last tick insert succeeded", () => writer.stats().storeUp ? 1 : 0)
    .counterFrom(
      "breadboard_ticks_accepted_total",
      "Ticks fsynced to the write-ahead log (accepted; each reaches the store exactly once)",
      () => writer.stats().accepted,
    );
  declareRuntimeMetrics(metrics);
  // Ticks accepted before a crash reach ClickHouse before the actors replay from it.
  await writer.flush().catch((err) =>
    log("warn", "store not reachable at start; actors start from their snapshots", { error: String(err) })
  );
  const namespace = isolated ?? "live";
  const bus = new AlertBus((err) => log("error", "alert subscriber failed", { error: String(err) }));
  bus.subscribe((a) => log("info", "alert", { id: a.id, symbol: a.symbol, kind: a.kind, message: a.message }));
  const guard = { allowPrivate: config.notify.allowPrivate };
  const quotas = new Quotas(kv, {
    maxSymbolsPerUser: config.limits.maxSymbolsPerUser,
    maxTrackedSymbols: config.limits.maxTrackedSymbols,
    alwaysTracked: config.symbols,
  });
  const channels = new ChannelBook(kv, { ...guard, emailEnabled: config.notify.smtpUrl !== undefined, quotas });
  const vapid = await loadVapidKeys(config.dataDir);
  const mailer = config.notify.smtpUrl ? smtpMailer(config.notify.smtpUrl, config.notify.smtpFrom) : undefined;
  const nats = config.notify.natsUrl ? natsPublisher(config.notify.natsUrl) : undefined;
  const outbox = new Outbox({
    kv,
    channels,
    guard,
    maxAttempts: config.notify.maxAttempts,
    retryMs: config.notify.retryMs,
    ...(mailer ? { mailer } : {}),
    ...(nats ? { nats } : {}),
    push: { vapid, subject: config.notify.vapidSubject },
    log,
  });
  const rules = await RuleBook.open(kv, config.alertThreshold, quotas);
  const watchlists = await WatchlistBook.open(kv, Date.now, quotas);
  /** Always-tracked symbols, every watchlist's symbols, and every symbol a rule watches. */
  const tracked = () => [...new Set([...config.symbols, ...watchlists.symbols(), ...rules.symbols()])];
  const hub = new Hub({
    maxClients: config.ws.maxClients,
    maxClientsPerAddress: config.ws.maxClientsPerIp,
    // Called only once a client subscribes, after `actors` below exists.
    quotes: (symbols) => symbols.flatMap((s) => actors.actor(s)?.quote ?? []),
  });
  bus.subscribe((a) => hub.alert(a));
  // A replay plays every symbol it recorded in one process; the other feeds split symbols by lease.
  let leases: LeaseManager | undefined;
  const actors = new ActorSystem({
    kv,
    store: openedStore,
    rules,
    bus,
    namespace,
    ...(config.feed === "replay" ? {} : { owns: (s: string) => leases?.owns(s) ?? false }),
    onQuote: (q) => hub.quote(q),
    stageAlert: (op, a) => outbox.stage(op, a),
    log,
  });
  declareActorMetrics(metrics, actors, () => leases?.owned().length ?? actors.symbols().length);
  const sink = createIngestSink({ writer, metrics, log, onTick: (t) => actors.tick(t) });
  const recorder = config.recordFile && (config.feed === "yahoo" || config.feed === "massive")
    ? await Recorder.open(config.recordFile, (err) => log("error", "recording stopped", { error: String(err) }))
    : undefined;
  let feed: Feed;
  if (config.feed === "synthetic") {
    feed = new SyntheticFeed({ sink, ticksPerSecond: config.syntheticRate });
  } else if (config.feed === "replay") {
    feed = new ReplayFeed({
      path: config.replay.file!,
      speed: config.replay.speed,
      yahoo: await createYahooDecoder({ source: "replay", maxFutureMs: Number.MAX_SAFE_INTEGER }),
      massive: createMassiveDecoder({ source: "replay", maxFutureMs: Number.MAX_SAFE_INTEGER }),
      sink,
      onEnd: (frames) => log("info", "replay finished", { frames }),
    });
  } else if (config.feed === "massive") {
    feed = new MassiveFeed({
      url: config.massive.wsUrl,
      apiKey: config.massive.apiKey!,
      decoder: createMassiveDecoder(),
      sink,
      ...(recorder ? { onFrame: recorder.hook("massive") } : {}),
    });
  } else {
    feed = new YahooFeed({
      url: config.yahoo.wsUrl,
      decoder: await createYahooDecoder(),
      sink,
      ...(recorder ? { onFrame: recorder.hook("yahoo") } : {}),
    });
  }
  let shuttingDown = false;
  if (config.feed === "replay") {
    await actors.activate(config.symbols);
  } else {
    leases = new LeaseManager({
      kv,
      // Kept in DATA_DIR so a restart keeps the leases it held.
      id: await persistentId(join(config.dataDir, "process-id")),
      namespace,
      leaseMs: config.actorLeaseMs,
      log,
      onGain: async (symbols) => {
        await actors.activate(symbols);
        feed.setSymbols(leases!.owned());
      },
      onLose: async (symbols) => {
        if (shuttingDown) return;
        feed.setSymbols(leases!.owned());
        await actors.release(symbols);
      },
    });
    leases.setSymbols(tracked());
    const retrack = () => leases?.setSymbols(tracked());
    watchlists.onChange(retrack);
    rules.onChange(retrack);
  }
  actors.start();
  outbox.listen();
  feed.start();
  await leases?.start();

  // History: the OHLCV fetch on its schedule, and once at start when it has never completed. Synthetic and replayed
  // data have no real history to fetch.
  const jobAbort = new AbortController();
  let historyRun: Promise<unknown> | undefined;
  if (!isolated) {
    const history = scheduleJob({
      kv,
      name: OHLCV_JOB,
      schedule: config.historicalFetchCron,
      log,
      run: async () => {
        const fetch = politeFetch({
          signal: jobAbort.signal,
          onRetry: (url, attempt, reason) =>
            log("warn", "history fetch retry", { url: redactKey(url), attempt, reason }),
        });
        await (historyRun = runOhlcvFetch({
          store: openedStore,
          provider: historyProvider(config, fetch),
          symbols: tracked(),
          signal: jobAbort.signal,
          log,
        }));
      },
    });
    void openedStore.query<{ n: number }>(
      "SELECT count() AS n FROM job_runs FINAL WHERE job = {job:String} AND status IN ('ok', 'partial')",
      { job: OHLCV_JOB },
    ).then((r) => Number(r[0]?.n ?? 0) === 0 && !jobAbort.signal.aborted ? history.trigger() : false)
      .catch((err) => log("warn", "first history fetch did not run", { error: String(err) }));
  }

  const app = createApp({
    store: openedStore,
    kv,
    quotas,
    trustProxy: config.trustProxy,
    wsAllowedOrigins: config.ws.allowedOrigins,
    feed: () => feed.status(),
    metrics,
    rules,
    hub,
    watchlists,
    search: new SymbolSearch({
      yahoo: createYahooRest({
        ...(config.yahoo.apiBase ? { apiBase: config.yahoo.apiBase } : {}),
        timeoutMs: 3_000,
        log: (level, msg) => log(level, "yahoo-finance2", { msg }),
      }),
      known: () => [...tracked(), ...actors.symbols()],
      log: (msg, fields) => log("warn", msg, fields),
    }),
    notify: {
      channels,
      outbox,
      vapidPublicKey: vapid.publicKey,
      available: { webhook: true, email: mailer !== undefined, push: true, nats: nats !== undefined },
    },
    pages: {
      defaultSymbols: config.symbols,
      tracked,
      quotes: (symbols) => Promise.resolve(symbols.flatMap((s) => actors.actor(s)?.quote ?? [])),
    },
    market: {
      async stock(symbol) {
        const a = actors.actor(symbol);
        if (a?.quote) return { quote: a.quote, windows: a.windowStats() };
        // Owned by another process or passivated: its last snapshot answers.
        const snap = (await kv.get<ActorSnapshot>(keys.actor(namespace, symbol))).value;
        if (!snap?.quote) return undefined;
        const windows = Object.fromEntries(
          WINDOWS.map((w) => [w, RollingWindow.restore(WINDOW_MS[w], snap.windows[w]).stats()]),
        );
        return { quote: snap.quote, windows };
      },
      openCandle(symbol) {
        const c1 = actors.actor(symbol)?.c1;
        return c1 ? closeCandle(c1) : undefined;
      },
    },
  });
  metrics
    .gauge("breadboard_ws_clients", "Open WebSocket clients", () => hub.stats().clients)
    .counterFrom("breadboard_ws_frames_sent_total", "Frames sent to WebSocket clients", () => hub.stats().framesSent)
    .counterFrom(
      "breadboard_ws_ticks_conflated_total",
      "Tick frames replaced by a newer one for a slow client",
      () => hub.stats().ticksConflated,
    )
    .counterFrom(
      "breadboard_ws_slow_disconnects_total",
      "Clients disconnected for staying behind",
      () => hub.stats().slowDisconnects,
    )
    .gauge("breadboard_ws_clients_behind", "Clients with frames held back", () => hub.stats().heldBack)
    .counterFrom(
      "breadboard_notifications_total",
      "Notification deliveries by outcome (retried: attempts that failed and were queued again)",
      () => {
        const { delivered, retried, dead, invalid } = outbox.stats();
        return { delivered, retried, dead, invalid };
      },
      "outcome",
    );
  // The app listens on loopback only; the guard owns the public port (timeouts, caps, accept errors).
  const fileLimit = openFileLimit();
  const maxConnections = config.http.maxConnections ?? defaultMaxConnections(fileLimit);
  if (fileLimit !== undefined && maxConnections > defaultMaxConnections(fileLimit)) {
    log("warn", "MAX_CONNECTIONS is above what the open-file limit allows; idle connections will be shed", {
      maxConnections,
      openFileLimit: fileLimit,
    });
  }
  const front = serveGuarded((req, remoteAddr) => app.fetch(req, { remoteAddr }), {
    port: config.port,
    maxConnections,
    // Behind a proxy every connection comes from the proxy's address: only the total cap applies.
    maxPerAddress: config.trustProxy ? maxConnections : config.http.maxConnectionsPerIp,
    headerTimeoutMs: config.http.headerTimeoutMs,
    idleTimeoutMs: config.http.idleTimeoutMs,
    maxWsMessageBytes: WS_MAX_MESSAGE_BYTES,
    log,
  });
  declareConnMetrics(metrics, front);
  const port = front.addr.port;
  log("info", `listening on http://localhost:${port}/`, {
    port,
    store: openedStore.driver,
    database: openedStore.database,
    feed: config.feed,
    dataDir: config.dataDir,
    maxConnections,
  });
  options.onListen?.(port);

  let stopping: Promise<void> | undefined;
  return {
    port,
    shutdown() {
      stopping ??= (async () => {
        shuttingDown = true;
        jobAbort.abort();
        await feed.stop();
        await recorder?.close();
        hub.close();
        await front.shutdown();
        await actors.stop();
        // An aborted history run stops between units and records itself as cancelled.
        await historyRun?.catch(() => {});
        await leases?.stop();
        rules.close();
        watchlists.close();
        await writer.close();
        await openedStore.close();
        mailer?.close();
        await nats?.close();
        kv.close();
        log("info", "stopped", { ticksStored: writer.stats().stored });
      })();
      return stopping;
    },
  };
}

/** `url` with its apiKey parameter masked, for logs. */
function redactKey(url: string): string {
  return url.replace(/([?&]apiKey=)[^&]+/, "$1***");
}

/** JS heap and event-loop lag: the two numbers that say a busy process is falling behind. */
function declareRuntimeMetrics(metrics: Metrics): void {
  // The loop's lag is how late a 100 ms timer fires; the gauge shows the worst since the last scrape.
  let expected = performance.now() + 100;
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - expected);
    expected = now + 100;
  }, 100);
  Deno.unrefTimer(timer);
  metrics
    .gauge("breadboard_js_heap_bytes", "JavaScript heap in use", () => Deno.memoryUsage().heapUsed)
    .gauge("process_resident_memory_bytes", "Resident memory of the process", () => Deno.memoryUsage().rss)
    .gauge("breadboard_event_loop_lag_seconds", "Worst event-loop delay since the last scrape", () => {
      const lag = Math.max(0, worst) / 1000;
      worst = 0;
      return lag;
    });
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

function declareActorMetrics(metrics: Metrics, actors: ActorSystem, owned: () => number): void {
  metrics
    .gauge("breadboard_actors_active", "Symbol actors in memory", () => actors.stats().active)
    .gauge("breadboard_symbols_owned", "Symbols whose lease this process holds", owned)
    .counterFrom(
      "breadboard_actor_ticks_total",
      "Ticks seen by actors, by outcome",
      () => actors.stats().ticks,
      "outcome",
    )
    .counterFrom("breadboard_alerts_published_total", "Alerts published on the bus", () => actors.stats().alerts)
    .counterFrom(
      "breadboard_alerts_replayed_total",
      "Alerts raised again by a replay and not published twice",
      () => actors.stats().alertsReplayed,
    )
    .counterFrom("breadboard_candles_closed_total", "One-minute candles closed", () => actors.stats().candles)
    .counterFrom("breadboard_actor_snapshots_total", "Actor snapshots written to KV", () => actors.stats().snapshots)
    .gauge(
      "breadboard_actor_pending_rows",
      "Candle and alert rows waiting for the store",
      () => actors.stats().pendingRows,
    );
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

if (import.meta.main) await runMain(Deno.env.toObject());
