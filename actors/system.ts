import type { Alert } from "../schema/alert.ts";
import type { Tick } from "../schema/tick.ts";
import { storedTicks } from "../store/queries/ticks.ts";
import type { MetricsRegistry } from "../schema/metrics.ts";
import type { LatestState } from "../schema/quote.ts";
import { closeCandle } from "./candle.ts";
import { minuteRow } from "../store/rows.ts";
import type { Row, Store } from "../store/store.ts";
import type { AlertBus } from "./alert_bus.ts";
import { keys } from "./keys.ts";
import type { RuleBook } from "./rule_book.ts";
import { type ActorOutput, type ActorSnapshot, type Quote, SymbolActor, type TickOutcome } from "./symbol_actor.ts";
import type { Logger } from "../schema/log.ts";

/** Options of {@link ActorSystem}. */
export interface ActorSystemOptions {
  kv: Deno.Kv;
  /** Read from only: the ticks a loading actor replays. */
  store: Store;
  /** Where closed candles and alerts go: the store's write-ahead-logged writer (store/writer.ts). */
  writer: ActorWriter;
  rules: RuleBook;
  bus: AlertBus;
  /** Separates snapshots of live, synthetic and replayed data in one KV (default "live"). */
  namespace?: string;
  /** Candles are closed, written and snapshotted this often (default 1,000 ms). */
  checkpointMs?: number;
  /** A candle closes this long after its end when no later tick came (default 2,000 ms). */
  closeGraceMs?: number;
  /** Actors without a tick for this long are snapshotted and dropped from memory (default 15 minutes). */
  idleMs?: number;
  /** A fresh actor (no snapshot) warms up from stored ticks this far back (default 60 minutes). */
  warmupMs?: number;
  /** Called with the new quote after each live tick an actor applied (the WebSocket fan-out). */
  onQuote?: (q: Quote) => void;
  /**
   * Adds to the KV commit that marks an alert raised (the notification outbox enqueues there), so an alert is
   * recorded as raised exactly when its notifications are queued.
   */
  stageAlert?: (op: Deno.AtomicOperation, a: Alert) => void;
  /** Only symbols this says yes to get an actor (the lease manager's `owns`; default all). */
  owns?: (symbol: string) => boolean;
  log?: Logger;
  now?: () => number;
}

/** Counters for /metrics. */
export interface ActorStats {
  active: number;
  loading: number;
  ticks: Record<TickOutcome, number>;
  alerts: number;
  alertsReplayed: number;
  candles: number;
  snapshots: number;
  passivated: number;
  pendingRows: number;
}

interface Entry {
  actor: SymbolActor | undefined;
  /** Ticks waiting while the actor loads, in arrival order. */
  mailbox: Tick[];
  loading: Promise<void> | undefined;
}

/** The lanes of the store's writer the actors append to; each append resolves once the rows are logged for good. */
export interface ActorWriter {
  candles: { append(rows: readonly Row[]): Promise<void> };
  alerts: { append(alerts: readonly Alert[]): Promise<void> };
}

/**
 * The actor system: one {@link SymbolActor} per symbol, created on the symbol's first tick, each behind an ordered
 * mailbox.
 *
 * A tick for an actor in memory is applied at once, synchronously, so ticks of one symbol are applied in order and
 * no symbol waits for another. A tick for an actor not in memory waits in its mailbox while the actor loads: its KV
 * snapshot is read and the ticks stored since the snapshot are replayed from ClickHouse, then the mailbox drains.
 *
 * Every `checkpointMs` the system closes candles whose minute has ended, writes closed candles and alerts to
 * ClickHouse, then snapshots the actors that closed a candle (a snapshot never gets ahead of the stored candles),
 * and passivates idle actors. Each alert is published on the bus once: its deterministic id is recorded in KV, so
 * the same crossing replayed after a restart is stored again (ClickHouse keeps one row) but not published again.
 */
export class ActorSystem {
  readonly #o:
    & Required<Omit<ActorSystemOptions, "owns" | "log" | "onQuote" | "stageAlert">>
    & Pick<ActorSystemOptions, "owns" | "log" | "onQuote" | "stageAlert">;
  readonly #entries = new Map<string, Entry>();
  #out: ActorOutput = { alerts: [], candles: [] };
  /** Closed candles and alerts waiting to be handed to the writer. */
  #pending: { candles: Row[]; alerts: Alert[] } = { candles: [], alerts: [] };
  #timer: ReturnType<typeof setInterval> | undefined;
  #checkpointing: Promise<void> | undefined;
  #stopped = false;
  #stats: ActorStats = {
    active: 0,
    loading: 0,
    ticks: { applied: 0, out_of_order: 0, duplicate: 0, price_jump: 0, jump_discarded: 0 },
    alerts: 0,
    alertsReplayed: 0,
    candles: 0,
    snapshots: 0,
    passivated: 0,
    pendingRows: 0,
  };

  constructor(options: ActorSystemOptions) {
    this.#o = {
      namespace: "live",
      checkpointMs: 1_000,
      closeGraceMs: 2_000,
      idleMs: 15 * 60_000,
      warmupMs: 60 * 60_000,
      now: Date.now,
      ...options,
    };
  }

  /** Starts the checkpoint loop. */
  start(): void {
    this.#timer ??= setInterval(() => void this.checkpoint(), this.#o.checkpointMs);
  }

  /** Delivers one tick to its symbol's actor (creating or waking it). Never throws. */
  tick(t: Tick): void {
    if (this.#stopped || (this.#o.owns && !this.#o.owns(t.symbol))) return;
    const e = this.#entry(t.symbol);
    if (e.actor && e.mailbox.length === 0) {
      this.#apply(e.actor, t);
      return;
    }
    e.mailbox.push(t);
    if (!e.actor) e.loading ??= this.#load(t.symbol, e);
  }

  /** Loads the actors of `symbols` now (restore + replay) instead of on their first tick. */
  async activate(symbols: readonly string[]): Promise<void> {
    const loads: Promise<void>[] = [];
    for (const s of symbols) {
      if (this.#o.owns && !this.#o.owns(s)) continue;
      const e = this.#entry(s);
      if (!e.actor) loads.push(e.loading ??= this.#load(s, e));
    }
    await Promise.all(loads);
  }

  #entry(symbol: string): Entry {
    let e = this.#entries.get(symbol);
    if (!e) this.#entries.set(symbol, e = { actor: undefined, mailbox: [], loading: undefined });
    return e;
  }

  #apply(actor: SymbolActor, t: Tick): void {
    const outcome = actor.onTick(t, this.#o.rules.forSymbol(actor.symbol), this.#out, this.#o.now());
    this.#stats.ticks[outcome]++;
    if (outcome === "applied" && this.#o.onQuote) this.#o.onQuote(actor.quote!);
    if (this.#out.alerts.length > 0 || this.#out.candles.length > 0) this.#drainOutput();
  }

  #drainOutput(): void {
    const version = this.#o.now();
    for (const c of this.#out.candles) {
      this.#pending.candles.push(minuteRow(c.symbol, c.candle, c.source, version));
    }
    this.#stats.candles += this.#out.candles.length;
    for (const a of this.#out.alerts) this.#raise(a);
    this.#out = { alerts: [], candles: [] };
  }

  #raise(a: Alert): void {
    this.#pending.alerts.push(a);
    // Publish once per id across restarts; the KV record outlives any replay window.
    const op = this.#o.kv.atomic()
      .check({ key: keys.alertSeen(a.id), versionstamp: null })
      .set(keys.alertSeen(a.id), a.time, { expireIn: 7 * 86_400_000 });
    this.#o.stageAlert?.(op, a);
    void op.commit()
      .then((res) => {
        if (res.ok) {
          this.#stats.alerts++;
          // A once-only rule is paused before its alert goes out, so whoever sees the alert sees the rule paused.
          void this.#pauseSpent(a).then(() => this.#o.bus.publish(a));
        } else this.#stats.alertsReplayed++;
      }, (err) => this.#o.log?.("error", "alert not published: KV write failed", { id: a.id, error: String(err) }));
  }

  /** A `once` rule that fired pauses itself, so its owner sees it stopped and can enable it again to re-arm it. */
  async #pauseSpent(a: Alert): Promise<void> {
    const rule = this.#o.rules.get(a.ruleId);
    if (rule?.trigger !== "once" || !rule.enabled) return;
    // Failing to pause never holds the alert back: the actor's state keeps the rule silent meanwhile.
    await this.#o.rules.put({ ...rule, enabled: false }).catch((err) =>
      this.#o.log?.("error", "a once-only rule fired but was not paused", { id: rule.id, error: String(err) })
    );
  }

  async #load(symbol: string, e: Entry): Promise<void> {
    this.#stats.loading++;
    try {
      const got = await this.#o.kv.get<ActorSnapshot>(keys.actor(this.#o.namespace, symbol));
      const actor = got.value ? SymbolActor.restore(got.value) : new SymbolActor(symbol);
      actor.versionstamp = got.versionstamp;
      const first = e.mailbox[0];
      const until = first?.time ?? this.#o.now();
      const from = got.value ? actor.lastTime : until - this.#o.warmupMs;
      if (from > 0) await this.#replay(actor, from, until, first);
      e.actor = actor;
      const queued = e.mailbox;
      e.mailbox = [];
      for (const t of queued) this.#apply(actor, t);
      this.#stats.active++;
    } catch (err) {
      // The ticks stay in the mailbox; the next tick retries the load.
      this.#o.log?.("warn", "actor could not load; its ticks wait", { symbol, error: String(err) });
    } finally {
      e.loading = undefined;
      this.#stats.loading--;
    }
  }

  /**
   * Applies the stored ticks of `actor.symbol` that arrived after the actor's last consumed tick and before `first`
   * (the first live tick waiting in the mailbox), in arrival order. With an arrival position in the snapshot this
   * is exact: every tick is consumed once, however many share a millisecond. Snapshots and rows from before
   * positions existed fall back to event time from `from` (the actor's duplicate check skips the last tick).
   */
  async #replay(actor: SymbolActor, from: number, until: number, first: Tick | undefined): Promise<void> {
    const ticks = await storedTicks(this.#o.store, {
      symbol: actor.symbol,
      from,
      afterSeq: actor.lastSeq,
      ...(first?.seq !== undefined ? { beforeSeq: first.seq } : { until, untilExclusive: first !== undefined }),
    });
    const rules = this.#o.rules.forSymbol(actor.symbol);
    const arrival = this.#o.now();
    for (const t of ticks) {
      this.#stats.ticks[actor.onTick(t, rules, this.#out, arrival)]++;
    }
    if (this.#out.alerts.length > 0 || this.#out.candles.length > 0) this.#drainOutput();
  }

  /**
   * One checkpoint: close due candles, write candles and alerts, snapshot actors that closed a candle, passivate
   * idle ones. Runs on the timer; tests and shutdown call it directly. A failed write keeps the rows for the next
   * checkpoint and skips the snapshots, so nothing a snapshot claims is missing from the write-ahead log.
   */
  checkpoint(): Promise<void> {
    this.#checkpointing ??= this.#checkpoint().finally(() => {
      this.#checkpointing = undefined;
    });
    return this.#checkpointing;
  }

  async #checkpoint(): Promise<void> {
    const now = this.#o.now();
    for (const e of this.#entries.values()) {
      if (e.actor) e.actor.closeDue(now, this.#o.closeGraceMs, this.#out);
    }
    this.#drainOutput();
    try {
      await this.#writeRows();
    } catch (err) {
      this.#o.log?.("warn", "candles and alerts not written yet; retrying", { error: String(err) });
      return;
    }
    const idle: string[] = [];
    const saves: Promise<void>[] = [];
    for (const [symbol, e] of this.#entries) {
      const a = e.actor;
      if (!a) continue;
      const isIdle = e.mailbox.length === 0 && now - a.lastArrival > this.#o.idleMs;
      if (a.dirty || isIdle) saves.push(this.#save(a));
      if (isIdle) idle.push(symbol);
    }
    await Promise.all(saves);
    for (const s of idle) {
      const e = this.#entries.get(s);
      // Only once saved: an actor whose snapshot the KV refused stays until a checkpoint saves it.
      if (e?.actor && !e.actor.dirty && e.mailbox.length === 0 && now - e.actor.lastArrival > this.#o.idleMs) {
        this.#entries.delete(s);
        this.#stats.active--;
        this.#stats.passivated++;
      }
    }
  }

  /**
   * Hands pending candles and alerts to the store's writer and waits until they are logged for good (the writer
   * inserts them into ClickHouse exactly once). A full or failing writer keeps them here for the next checkpoint.
   */
  async #writeRows(): Promise<void> {
    const { candles, alerts } = this.#pending;
    this.#pending = { candles: [], alerts: [] };
    const logged: Promise<void>[] = [];
    try {
      if (candles.length > 0) logged.push(this.#o.writer.candles.append(candles));
    } catch (err) {
      this.#pending = { candles: candles.concat(this.#pending.candles), alerts: alerts.concat(this.#pending.alerts) };
      throw err;
    }
    try {
      if (alerts.length > 0) logged.push(this.#o.writer.alerts.append(alerts));
    } catch (err) {
      this.#pending.alerts = alerts.concat(this.#pending.alerts); // in front of any added meanwhile
      await Promise.allSettled(logged);
      throw err;
    }
    await Promise.all(logged);
  }

  /** Writes the actor's snapshot if nobody else wrote one since it read or wrote its own. */
  async #save(a: SymbolActor): Promise<void> {
    const key = keys.actor(this.#o.namespace, a.symbol);
    const ruleIds = new Set(this.#o.rules.forSymbol(a.symbol).map((r) => r.id));
    let res: Deno.KvCommitResult | Deno.KvCommitError;
    try {
      res = await this.#o.kv.atomic().check({ key, versionstamp: a.versionstamp }).set(key, a.snapshot(ruleIds))
        .commit();
    } catch (err) {
      // The KV refused the write (processes sharing its file hold its lock, say): the actor keeps its state, dirty,
      // and the next checkpoint saves it. A checkpoint never ends the process.
      a.unsaved();
      this.#o.log?.("warn", "actor snapshot not saved; retrying at the next checkpoint", {
        symbol: a.symbol,
        error: String(err),
      });
      return;
    }
    if (res.ok) {
      a.versionstamp = res.versionstamp;
      this.#stats.snapshots++;
    } else {
      // Another process wrote this symbol's state: it owns the symbol now. Drop ours; a later tick reloads.
      this.#o.log?.("warn", "actor snapshot superseded by another process; dropping the actor", { symbol: a.symbol });
      if (this.#entries.get(a.symbol)?.actor === a) {
        this.#entries.delete(a.symbol);
        this.#stats.active--;
      }
    }
  }

  /** Snapshots and drops the actors of `symbols` (their lease moved elsewhere). */
  async release(symbols: readonly string[]): Promise<void> {
    await this.checkpoint();
    const saves: Promise<void>[] = [];
    for (const s of symbols) {
      const e = this.#entries.get(s);
      if (!e) continue;
      await e.loading;
      this.#entries.delete(s);
      if (e.actor) {
        this.#stats.active--;
        saves.push(this.#save(e.actor));
      }
    }
    await Promise.all(saves);
  }

  /**
   * The live state of `symbol` as its owner answers a latest-value request from any instance: quote, rolling
   * windows and the minute still open. Undefined while the actor is not in memory or has no quote.
   *
   * @example
   * ```ts
   * broker.respond(subjects.latest("AAPL"), () => JSON.stringify(actors.latest("AAPL")));
   * ```
   */
  latest(symbol: string): LatestState | undefined {
    const a = this.actor(symbol);
    if (!a?.quote) return undefined;
    const c1 = a.c1;
    return { quote: a.quote, windows: a.windowStats(), openCandle: c1 ? closeCandle(c1) : null, asOf: this.#o.now() };
  }

  /**
   * The quote `symbol`'s actor last saved in its KV snapshot, whether or not the actor is in memory.
   *
   * @example
   * ```ts
   * const q = await actors.savedQuote("AAPL"); // where the demo market resumes
   * ```
   */
  async savedQuote(symbol: string): Promise<Quote | undefined> {
    return (await this.#o.kv.get<ActorSnapshot>(keys.actor(this.#o.namespace, symbol))).value?.quote ?? undefined;
  }

  /** The actor of `symbol` when it is in memory. */
  actor(symbol: string): SymbolActor | undefined {
    return this.#entries.get(symbol)?.actor;
  }

  /** Symbols with an actor in memory. */
  symbols(): string[] {
    return [...this.#entries.keys()];
  }

  stats(): ActorStats {
    return {
      ...this.#stats,
      ticks: { ...this.#stats.ticks },
      pendingRows: this.#pending.candles.length + this.#pending.alerts.length,
    };
  }

  /** Stops taking ticks, writes what is pending and snapshots every actor (open candles included). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#checkpointing;
    await Promise.all([...this.#entries.values()].map((e) => e.loading));
    this.#drainOutput();
    try {
      await this.#writeRows();
    } catch (err) {
      this.#o.log?.("error", "candles and alerts not written at shutdown", { error: String(err) });
      return; // snapshots would get ahead of the store; the next start replays these ticks instead
    }
    await Promise.all([...this.#entries.values()].flatMap((e) => e.actor ? [this.#save(e.actor)] : []));
  }
}

/**
 * Declares the actor system's metrics on `metrics`.
 *
 * @param owned how many symbols this process holds the lease of
 * @example
 * ```ts
 * declareActorMetrics(metrics, actors, () => leases.owned().length);
 * ```
 */
export function declareActorMetrics(metrics: MetricsRegistry, actors: ActorSystem, owned: () => number): void {
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
