/**
 * The ingest role: feeds, symbol actors, the write-ahead-logged store writer, the history job and the notification
 * outbox. Quotes, alerts and latest-value answers go out on the broker; whichever web instance holds the sockets
 * fans them out.
 */
import { join } from "node:path";
import { AlertBus } from "../actors/alert_bus.ts";
import { closeCandle } from "../actors/candle.ts";
import { LeaseManager } from "../actors/lease.ts";
import { ActorSystem } from "../actors/system.ts";
import type { LatestState } from "../broker/latest.ts";
import { LivePublisher } from "../broker/live.ts";
import type { Feed } from "../feeds/feed.ts";
import { createIngestSink, declareIngestMetrics } from "../feeds/ingest.ts";
import { MassiveFeed } from "../feeds/massive.ts";
import { createMassiveDecoder } from "../feeds/massive_decode.ts";
import { Recorder } from "../feeds/recorder.ts";
import { ReplayFeed } from "../feeds/replay.ts";
import { type DemoStart, SyntheticFeed } from "../feeds/synthetic.ts";
import { generateDemoHistory } from "../feeds/demo_history.ts";
import { keys } from "../actors/keys.ts";
import type { ActorSnapshot } from "../actors/symbol_actor.ts";
import { YahooFeed } from "../feeds/yahoo.ts";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { BackfillRuns } from "../jobs/backfill_runs.ts";
import { runOhlcvFetch } from "../jobs/ohlcv_job.ts";
import { politeFetch } from "../jobs/polite_fetch.ts";
import { historyProvider } from "../jobs/providers.ts";
import { OHLCV_JOB, scheduleJob } from "../jobs/schedule.ts";
import type { Metrics } from "../routes/metrics.ts";
import { type Config, ConfigError } from "../schema/env.ts";
import { FEED_DOWN_STATES, type FeedStatus } from "../schema/health.ts";
import { persistentId } from "../store/persistent_id.ts";
import type { Store } from "../store/store.ts";
import { TickWriter } from "../store/tick_writer.ts";
import { announcingStore } from "../store/write_notices.ts";
import { type BackupManifest, dumpKv, exportTables } from "../jobs/backup.ts";
import { ApiError } from "../routes/errors.ts";
import type { Books } from "./books.ts";
import type { Logger, RoleDeps } from "./process.ts";
import type { Notify } from "./notify.ts";

/** What the ingest role is built from: the process's parts (its store migrated), the books, and notifications. */
export interface IngestDeps extends RoleDeps {
  books: Books;
  notify: Notify;
}

/** A running ingest role. */
export interface Ingest {
  /** Symbols with an actor in this process. */
  known(): string[];
  feedStatus(): FeedStatus;
  /**
   * Backs this process's KV and embedded tables up into `dir` while it runs (jobs/backup.ts); with a ClickHouse
   * server the server's own BACKUP is the tool, and this refuses.
   */
  backup(dir: string): Promise<BackupManifest>;
  /** Backfills run inside this process (the store's writer); none for demo and replayed data, which have no provider. */
  backfill?: BackfillRuns;
  /** Stops the feed, snapshots the actors, hands the leases back and flushes the writer. */
  stop(): Promise<void>;
}

/**
 * The feed the configuration names.
 *
 * @example
 * ```ts
 * const feed = await openFeed(config, sink);
 * feed.start();
 * ```
 */
export async function openFeed(
  config: Config,
  sink: ReturnType<typeof createIngestSink>,
  recorder: Recorder | undefined,
  log: Logger,
  demoStart?: (symbol: string) => DemoStart | undefined,
): Promise<Feed> {
  switch (config.feed) {
    case "synthetic":
      return new SyntheticFeed({
        sink,
        ticksPerSecond: config.syntheticRate,
        alwaysOpen: config.syntheticAlwaysOpen,
        ...(demoStart ? { start: demoStart } : {}),
      });
    case "replay":
      return new ReplayFeed({
        path: config.replay.file!,
        speed: config.replay.speed,
        yahoo: await createYahooDecoder({ source: "replay", maxFutureMs: Number.MAX_SAFE_INTEGER }),
        massive: createMassiveDecoder({ source: "replay", maxFutureMs: Number.MAX_SAFE_INTEGER }),
        sink,
        onEnd: (frames) => log("info", "replay finished", { frames }),
      });
    case "massive":
      return new MassiveFeed({
        url: config.massive.wsUrl,
        apiKey: config.massive.apiKey!,
        decoder: createMassiveDecoder(),
        sink,
        ...(recorder ? { onFrame: recorder.hook("massive") } : {}),
      });
    case "yahoo":
      return new YahooFeed({
        url: config.yahoo.wsUrl,
        decoder: await createYahooDecoder(),
        sink,
        ...(recorder ? { onFrame: recorder.hook("yahoo") } : {}),
      });
  }
}

/**
 * Starts the ingest role. Refuses to start (ConfigError) when another member already shares this KV and no NATS_URL
 * is set: without the bus the two would split live data silently.
 */
export async function startIngest(d: IngestDeps): Promise<Ingest> {
  const { config, kv, broker, subjects, metrics, log, books } = d;
  // Every candle write (a closed minute, a history fetch) tells the web instances' history caches what changed.
  const store = announcingStore(
    d.store,
    (_table, symbol, from) => broker.publish(subjects.history, JSON.stringify({ symbol, from })),
  );
  const namespace = config.namespace;
  const id = await persistentId(join(config.dataDir, "process-id"));
  if (config.feed !== "replay") {
    const others = (await LeaseManager.liveMembers(kv, namespace)).filter((m) => m !== id);
    if (others.length > 0 && config.natsUrl === undefined) {
      throw new ConfigError(
        `another Breadboard process (${others.length} live member${
          others.length > 1 ? "s" : ""
        }) already uses this KV; members share live data only over NATS: set NATS_URL on every member`,
      );
    }
    if (others.length > 0 && store.driver === "embedded") {
      log("warn", "several members with embedded stores: history is per process; set CLICKHOUSE_URL to share one", {
        members: others.length + 1,
      });
    }
  }
  const isolated = namespace === "live" ? undefined : namespace;
  const writer = await TickWriter.open(store, join(config.dataDir, isolated ? `wal-${isolated}` : "wal"), {
    onError: (err) => log("warn", "tick insert failed; ticks stay in the write-ahead log", { error: String(err) }),
  });
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
  // Ticks accepted before a crash reach ClickHouse before the actors replay from it.
  await writer.flush().catch((err) =>
    log("warn", "store not reachable at start; actors start from their snapshots", { error: String(err) })
  );

  const live = new LivePublisher(broker, subjects);
  const bus = new AlertBus((err) => log("error", "alert subscriber failed", { error: String(err) }));
  bus.subscribe((a) => log("info", "alert", { id: a.id, symbol: a.symbol, kind: a.kind, message: a.message }));
  bus.subscribe((a) => live.alert(a));
  const outbox = d.notify.outbox;
  metrics.counterFrom(
    "breadboard_notifications_total",
    "Notification deliveries by outcome (retried: attempts that failed and were queued again)",
    () => {
      const { delivered, retried, dead, invalid } = outbox.stats();
      return { delivered, retried, dead, invalid };
    },
    "outcome",
  );
  const { rules, watchlists, tracked } = books;

  // Owned symbols answer latest-value requests from any instance; a replay owns every symbol it plays.
  const answering = new Map<string, () => void>();
  let leases: LeaseManager | undefined;
  const actors = new ActorSystem({
    kv,
    store,
    rules,
    bus,
    namespace,
    ...(config.feed === "replay" ? {} : { owns: (s: string) => leases?.owns(s) ?? false }),
    onQuote: (q) => live.quote(q),
    stageAlert: (op, a) => outbox.stage(op, a),
    log,
  });
  const answer = (symbols: readonly string[]) => {
    for (const s of symbols) {
      if (answering.has(s)) continue;
      answering.set(
        s,
        broker.respond(subjects.latest(s), () => {
          const a = actors.actor(s);
          if (!a?.quote) return undefined;
          const c1 = a.c1;
          const state: LatestState = {
            quote: a.quote,
            windows: a.windowStats(),
            openCandle: c1 ? closeCandle(c1) : null,
            asOf: Date.now(),
          };
          return JSON.stringify(state);
        }),
      );
    }
  };
  const unanswer = (symbols: readonly string[]) => {
    for (const s of symbols) {
      answering.get(s)?.();
      answering.delete(s);
    }
  };
  declareActorMetrics(metrics, actors, () => leases?.owned().length ?? actors.symbols().length);
  const sink = createIngestSink({ writer, metrics, log, onTick: (t) => actors.tick(t) });
  const recorder = config.recordFile && (config.feed === "yahoo" || config.feed === "massive")
    ? await Recorder.open(config.recordFile, (err) => log("error", "recording stopped", { error: String(err) }))
    : undefined;
  const demoStart = config.feed === "synthetic" ? await prepareDemo(config, kv, store, tracked(), log) : undefined;
  const feed = await openFeed(config, sink, recorder, log, demoStart);
  let shuttingDown = false;
  if (config.feed === "replay") {
    await actors.activate(config.symbols);
    answer(config.symbols);
  } else {
    const lm = leases = new LeaseManager({
      kv,
      // Kept in DATA_DIR so a restart keeps the leases it held.
      id,
      namespace,
      leaseMs: config.actorLeaseMs,
      log,
      onGain: async (symbols) => {
        await actors.activate(symbols);
        answer(symbols);
        feed.setSymbols(lm.owned());
      },
      onLose: async (symbols) => {
        if (shuttingDown) return;
        unanswer(symbols);
        feed.setSymbols(lm.owned());
        await actors.release(symbols);
      },
    });
    lm.setSymbols(tracked());
    const retrack = () => lm.setSymbols(tracked());
    watchlists.onChange(retrack);
    rules.onChange(retrack);
  }
  actors.start();
  outbox.listen();
  feed.start();
  const stopWatching = watchFeed(feed, config.feed, log, metrics);
  await leases?.start();

  // History: the OHLCV fetch on its schedule, and once at start when it has never completed. Synthetic and replayed
  // data have no real history to fetch.
  const jobAbort = new AbortController();
  let historyRun: Promise<unknown> | undefined;
  const backfill = isolated ? undefined : new BackfillRuns({
    store,
    kv,
    provider: historyProvider(config, politeFetch({ signal: jobAbort.signal, concurrency: 4, ratePerSecond: 8 })),
    signal: jobAbort.signal,
    log,
  });
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
          store,
          provider: historyProvider(config, fetch),
          symbols: tracked(),
          signal: jobAbort.signal,
          log,
        }));
      },
    });
    void store.query<{ n: number }>(
      "SELECT count() AS n FROM job_runs FINAL WHERE job = {job:String} AND status IN ('ok', 'partial')",
      { job: OHLCV_JOB },
    ).then((r) => Number(r[0]?.n ?? 0) === 0 && !jobAbort.signal.aborted ? history.trigger() : false)
      .catch((err) => log("warn", "first history fetch did not run", { error: String(err) }));
  }

  let backingUp: Promise<BackupManifest> | undefined;
  const backup = async (dir: string): Promise<BackupManifest> => {
    if (d.store.driver !== "embedded") {
      throw new ApiError(
        409,
        "not_supported",
        "with CLICKHOUSE_URL, back the tables up on the ClickHouse server (BACKUP DATABASE); see docs/operations.md",
      );
    }
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const started = Date.now();
    const ticksAcceptedBefore = writer.stats().accepted;
    // Snapshots first, then KV, then the tables: the tables end up at least as new as the snapshots in KV.
    await actors.checkpoint();
    const kvEntries = await dumpKv(kv, join(dir, "kv.bin"));
    await writer.flush();
    const tables = await exportTables(d.store, dir);
    const manifest: BackupManifest = {
      createdAt: started,
      database: d.store.database,
      kvEntries,
      tables,
      ticksAcceptedBefore,
    };
    await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
    log("info", "backup written", { dir, kvEntries, ms: Date.now() - started, ticks: tables.ticks?.rows });
    return manifest;
  };

  return {
    known: () => actors.symbols(),
    backup(dir) {
      // One at a time: a second request waits for the first and gets its own copy after it.
      const run = (backingUp ?? Promise.resolve()).catch(() => {}).then(() => backup(dir));
      backingUp = run;
      return run;
    },
    feedStatus: () => feed.status(),
    ...(backfill ? { backfill } : {}),
    async stop() {
      shuttingDown = true;
      stopWatching();
      jobAbort.abort();
      await feed.stop();
      await recorder?.close();
      unanswer([...answering.keys()]);
      await actors.stop();
      // An aborted history run stops between units and records itself as cancelled.
      await historyRun?.catch(() => {});
      await backfill?.settled();
      await leases?.stop();
      await writer.close();
      log("info", "ingest stopped", { ticksStored: writer.stats().stored });
    },
  };
}

/**
 * The demo market's starting points: each symbol resumes from its actor's last quote in KV (a restart continues the
 * path: no jump, no false alert); a symbol without one gets generated history (SYNTHETIC_HISTORY) ending at its
 * profile's price, and starts where that history ends.
 */
async function prepareDemo(
  config: Config,
  kv: Deno.Kv,
  store: Store,
  symbols: readonly string[],
  log: Logger,
): Promise<(symbol: string) => DemoStart | undefined> {
  const starts = new Map<string, DemoStart>();
  for (const s of symbols) {
    const q = (await kv.get<ActorSnapshot>(keys.actor(config.namespace, s))).value?.quote;
    if (q) {
      starts.set(s, {
        price: q.price,
        previousClose: q.previousClose,
        time: q.time,
        dayHigh: q.dayHigh,
        dayLow: q.dayLow,
        dayVolume: q.dayVolume,
      });
    }
  }
  if (config.syntheticHistory) {
    const started = performance.now();
    try {
      const written = await generateDemoHistory({
        store,
        symbols,
        now: Date.now(),
        endPrice: (s) => starts.get(s)?.price,
      });
      for (const h of written) {
        if (!starts.has(h.symbol)) {
          starts.set(h.symbol, { price: h.lastClose, previousClose: h.previousClose, time: h.lastTime });
        }
      }
      if (written.length > 0) {
        log("info", "demo history written", {
          symbols: written.length,
          dailyCandles: written.reduce((n, h) => n + h.daily, 0),
          minuteCandles: written.reduce((n, h) => n + h.minutes, 0),
          ms: Math.round(performance.now() - started),
        });
      }
    } catch (err) {
      log("warn", "demo history not written; charts fill from live ticks", { error: String(err) });
    }
  }
  return (s) => starts.get(s);
}

/**
 * Says in the log when the live feed stops delivering: the first failure at once (with the reason), then a summary
 * a minute, then when it streams again. Exports `breadboard_feed_up` and `breadboard_feed_down_seconds`.
 *
 * @returns a function that stops watching
 */
function watchFeed(feed: Feed, name: string, log: Logger, metrics: Metrics): () => void {
  let downSince = 0;
  let loggedAt = 0;
  metrics
    .gauge("breadboard_feed_up", "1 while the feed streams (or the demo market rests while closed)", () => {
      const s = feed.status().state;
      return s === "live" || s === "closed" ? 1 : 0;
    })
    .gauge("breadboard_feed_down_seconds", "How long the feed has been failing to deliver (0 when it is not)", () => {
      const s = feed.status();
      return FEED_DOWN_STATES.has(s.state) && s.since ? (Date.now() - s.since) / 1000 : 0;
    });
  const check = () => {
    const s = feed.status();
    const now = Date.now();
    if (FEED_DOWN_STATES.has(s.state)) {
      const fields = { feed: name, state: s.state, error: s.error, since: s.since && new Date(s.since).toISOString() };
      if (downSince === 0) {
        downSince = s.since ?? now;
        loggedAt = now;
        log("warn", s.state === "unreachable" ? "live feed unreachable" : "live feed lost; reconnecting", fields);
      } else if (now - loggedAt >= 60_000) {
        loggedAt = now;
        log("warn", "live feed still down", { ...fields, downForS: Math.round((now - downSince) / 1000) });
      }
    } else if (downSince !== 0 && s.state === "live") {
      log("info", "live feed streaming again", { feed: name, downForS: Math.round((now - downSince) / 1000) });
      downSince = 0;
    }
  };
  const timer = setInterval(check, 1_000);
  return () => clearInterval(timer);
}

/** `url` with its apiKey parameter masked, for logs. */
function redactKey(url: string): string {
  return url.replace(/([?&]apiKey=)[^&]+/, "$1***");
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
