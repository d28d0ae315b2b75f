/**
 * The ingest role: feeds, symbol actors, the write-ahead-logged store writer, the history job and the notification
 * outbox. Quotes, alerts and latest-value answers go out on the broker; whichever web instance holds the sockets
 * fans them out.
 */
import { join } from "node:path";
import { AlertBus } from "../actors/alert_bus.ts";
import { LeaseManager } from "../actors/lease.ts";
import { ActorSystem, declareActorMetrics } from "../actors/system.ts";
import { LivePublisher } from "../broker/live.ts";
import { demoStarts } from "../feeds/demo_history.ts";
import { createIngestSink, declareIngestMetrics } from "../feeds/ingest.ts";
import { openFeed } from "../feeds/open.ts";
import { Recorder } from "../feeds/recorder.ts";
import { watchFeed } from "../feeds/watch.ts";
import { type BackupManifest, backupRunning } from "../jobs/backup.ts";
import { BackfillRuns } from "../jobs/backfill_runs.ts";
import { runOhlcvFetch } from "../jobs/ohlcv_job.ts";
import { politeFetch } from "../jobs/polite_fetch.ts";
import { historyProvider } from "../jobs/providers.ts";
import { OHLCV_JOB, scheduleJob } from "../jobs/schedule.ts";
import { ConfigError } from "../schema/env.ts";
import { LIVE_FEEDS } from "../schema/feeds.ts";
import type { FeedStatus } from "../schema/health.ts";
import { persistentId } from "../store/persistent_id.ts";
import { previousDailyClose } from "../store/queries/candles.ts";
import { completedRuns } from "../store/queries/job_runs.ts";
import { announcingStore } from "../store/write_notices.ts";
import { declareWriterMetrics, StoreWriter } from "../store/writer.ts";
import type { Books } from "./books.ts";
import type { Notify } from "./notify.ts";
import type { RoleDeps } from "./process.ts";

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
 * Starts the ingest role. Refuses to start (ConfigError) when another member already shares this KV and no NATS_URL
 * is set: without the bus the two would split live data silently.
 */
export async function startIngest(d: IngestDeps): Promise<Ingest> {
  const { config, kv, broker, subjects, metrics, log, books } = d;
  const { namespace } = config;
  const replay = config.feed === "replay";
  const isolated = namespace === "live" ? undefined : namespace;
  // Every candle write (a closed minute, a history fetch) tells the web instances' history caches what changed.
  const store = announcingStore(
    d.store,
    (_table, symbol, from) => broker.publish(subjects.history, JSON.stringify({ symbol, from })),
  );
  const id = await persistentId(join(config.dataDir, "process-id"));
  if (!replay) await refuseSplitMembership(d, id);

  const writer = await StoreWriter.open(store, join(config.dataDir, isolated ? `wal-${isolated}` : "wal"), {
    onError: (err, table) =>
      log("warn", "insert failed; rows stay in the write-ahead log", { table, error: String(err) }),
  });
  declareIngestMetrics(metrics);
  declareWriterMetrics(metrics, writer);
  // What was accepted before a crash reaches ClickHouse before the actors replay from it.
  await writer.flush().catch((err) =>
    log("warn", "store not reachable at start; actors start from their snapshots", { error: String(err) })
  );

  const live = new LivePublisher(broker, subjects);
  const bus = new AlertBus((err) => log("error", "alert subscriber failed", { error: String(err) }));
  bus.subscribe((a) => log("info", "alert", { id: a.id, symbol: a.symbol, kind: a.kind, message: a.message }));
  bus.subscribe((a) => live.alert(a));
  const { outbox } = d.notify;
  const { rules, watchlists, tracked } = books;

  // A replay owns every symbol it plays; otherwise the leases decide, and own nothing until they start.
  const leases = replay ? undefined : new LeaseManager({ kv, id, namespace, leaseMs: config.actorLeaseMs, log });
  const actors = new ActorSystem({
    kv,
    store,
    writer,
    rules,
    bus,
    namespace,
    ...(leases ? { owns: (s: string) => leases.owns(s) } : {}),
    onQuote: (q) => live.quote(q),
    stageAlert: (op, a) => outbox.stage(op, a),
    log,
  });
  declareActorMetrics(metrics, actors, () => leases?.owned().length ?? actors.symbols().length);

  // Owned symbols answer latest-value requests from any instance.
  const answering = new Map<string, () => void>();
  const answer = (symbols: readonly string[]) => {
    for (const s of symbols) {
      if (!answering.has(s)) answering.set(s, broker.respond(subjects.latest(s), () => toJson(actors.latest(s))));
    }
  };
  const unanswer = (symbols: readonly string[]) => {
    for (const s of symbols) {
      answering.get(s)?.();
      answering.delete(s);
    }
  };

  const sink = createIngestSink({ writer: writer.ticks, metrics, log, onTick: (t) => actors.tick(t) });
  const recorder = config.recordFile && (LIVE_FEEDS as readonly string[]).includes(config.feed)
    ? await Recorder.open(config.recordFile, (err) => log("error", "recording stopped", { error: String(err) }))
    : undefined;
  const feed = await openFeed(config, {
    sink,
    log,
    ...(recorder ? { recorder } : {}),
    previousClose: (symbol, day) => previousDailyClose(store, symbol, day),
    ...(config.feed === "synthetic"
      ? {
        demoStart: await demoStarts({
          store,
          symbols: tracked(),
          savedQuote: (s) => actors.savedQuote(s),
          history: config.syntheticHistory,
          log,
        }),
      }
      : {}),
  });

  let shuttingDown = false;
  if (!leases) {
    await actors.activate(config.symbols);
    answer(config.symbols);
  } else {
    leases.setSymbols(tracked());
    const retrack = () => leases.setSymbols(tracked());
    watchlists.onChange(retrack);
    rules.onChange(retrack);
  }
  actors.start();
  outbox.listen();
  feed.start();
  const stopWatching = watchFeed(feed, config.feed, log, metrics);
  await leases?.start({
    onGain: async (symbols) => {
      await actors.activate(symbols);
      answer(symbols);
      feed.setSymbols(leases.owned());
    },
    onLose: async (symbols) => {
      if (shuttingDown) return;
      unanswer(symbols);
      feed.setSymbols(leases.owned());
      await actors.release(symbols);
    },
  });

  const history = isolated ? undefined : startHistory(d, store, tracked);
  let backingUp: Promise<BackupManifest> | undefined;
  return {
    known: () => actors.symbols(),
    backup(dir) {
      // One at a time: a second request waits for the first and gets its own copy after it.
      const run = (backingUp ?? Promise.resolve()).catch(() => {}).then(() =>
        backupRunning({
          kv,
          store: d.store,
          checkpoint: () => actors.checkpoint(),
          flush: () => writer.flush(),
          acceptedTicks: () => writer.ticks.stats().accepted,
          log,
        }, dir)
      );
      backingUp = run;
      return run;
    },
    feedStatus: () => feed.status(),
    ...(history ? { backfill: history.backfill } : {}),
    async stop() {
      shuttingDown = true;
      stopWatching();
      await history?.stop();
      await feed.stop();
      await recorder?.close();
      unanswer([...answering.keys()]);
      await actors.stop();
      await leases?.stop();
      await writer.close();
      log("info", "ingest stopped", { ticksStored: writer.ticks.stats().stored });
    },
  };
}

/** Without the bus two members sharing one KV would split live data silently: refuse to be the second. */
async function refuseSplitMembership(d: IngestDeps, id: string): Promise<void> {
  const others = (await LeaseManager.liveMembers(d.kv, d.config.namespace)).filter((m) => m !== id);
  if (others.length === 0) return;
  if (d.config.natsUrl === undefined) {
    throw new ConfigError(
      `another Breadboard process (${others.length} live member${
        others.length > 1 ? "s" : ""
      }) already uses this KV; members share live data only over NATS: set NATS_URL on every member`,
    );
  }
  if (d.store.driver === "embedded") {
    d.log("warn", "several members with embedded stores: history is per process; set CLICKHOUSE_URL to share one", {
      members: others.length + 1,
    });
  }
}

/**
 * History: the OHLCV fetch on its schedule and once at start when it has never completed, and backfills on request.
 * Synthetic and replayed data have no real history to fetch, so their roles start none of it.
 */
function startHistory(d: IngestDeps, store: IngestDeps["store"], tracked: () => string[]) {
  const { config, kv, log } = d;
  const abort = new AbortController();
  let run: Promise<unknown> | undefined;
  const backfill = new BackfillRuns({
    store,
    kv,
    provider: historyProvider(config, politeFetch({ signal: abort.signal, concurrency: 4, ratePerSecond: 8 })),
    signal: abort.signal,
    log,
  });
  const job = scheduleJob({
    kv,
    name: OHLCV_JOB,
    schedule: config.historicalFetchCron,
    log,
    run: async () => {
      const fetch = politeFetch({
        signal: abort.signal,
        onRetry: (url, attempt, reason) => log("warn", "history fetch retry", { url: redactKey(url), attempt, reason }),
      });
      await (run = runOhlcvFetch({
        store,
        provider: historyProvider(config, fetch),
        symbols: tracked(),
        signal: abort.signal,
        log,
      }));
    },
  });
  void completedRuns(store, OHLCV_JOB)
    .then((n) => n === 0 && !abort.signal.aborted ? job.trigger() : false)
    .catch((err) => log("warn", "first history fetch did not run", { error: String(err) }));
  return {
    backfill,
    async stop() {
      abort.abort();
      // An aborted history run stops between units and records itself as cancelled.
      await run?.catch(() => {});
      await backfill.settled();
    },
  };
}

/** A latest-value answer: the state as JSON, or nothing for a symbol without a quote. */
function toJson(state: unknown): string | undefined {
  return state === undefined ? undefined : JSON.stringify(state);
}

/** `url` with its apiKey parameter masked, for logs. */
function redactKey(url: string): string {
  return url.replace(/([?&]apiKey=)[^&]+/, "$1***");
}
