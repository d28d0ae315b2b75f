import type { ClientMessage } from "../schema/ws_messages.ts";
import { z } from "zod";
import { type Quote, TICK_FIELDS, tickRow } from "../schema/quote.ts";
import type { Alert } from "../schema/alert.ts";
import { symbolSchema } from "../schema/symbol.ts";
import { type Broker, MemoryBroker, type Subjects, subjects } from "../broker/broker.ts";
import { LivePublisher } from "../broker/live.ts";
import process from "node:process";
import { setImmediate } from "node:timers";
import { socketOutlet, type WsOutlet } from "./frame_channel.ts";

/**
 * Largest message the transport lets through on any WebSocket: the connection guard closes a connection whose frame
 * headers announce more, before the server buffers it. Messages between the hub's own limit (8 KiB, answered with
 * an error frame) and this are read and refused.
 */
export const WS_MAX_MESSAGE_BYTES = 64 * 1024;

/** What a client may send on /ws/realtime. */
export const clientMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("subscribe"),
    symbols: z.array(symbolSchema).min(1).max(500),
    /** Every print of these symbols, in order, instead of the latest one per flush (charts that plot each trade). */
    ticks: z.boolean().optional(),
  }),
  z.object({ type: z.literal("unsubscribe"), symbols: z.array(symbolSchema).min(1).max(500) }),
  z.object({ type: z.literal("ping") }),
], { error: "type must be subscribe, unsubscribe or ping" }) satisfies z.ZodType<ClientMessage>;

/** Limits and timings of the hub. */
export interface HubOptions {
  /**
   * Latest quotes for the snapshot a client gets on subscribe, for symbols the hub holds no live value of yet (their
   * owner's answer over the broker, in a multi-instance product).
   */
  quotes: (symbols: readonly string[]) => Quote[] | Promise<Quote[]>;
  /**
   * Where quotes and alerts come from (default: a private in-memory broker). The hub subscribes to a symbol's
   * subjects when its first local client follows it and unsubscribes when the last one leaves, and to a user's alert
   * subject while that user has a socket here.
   */
  broker?: Broker;
  /** Subjects of the namespace the hub serves (default `live`). */
  subjects?: Subjects;
  /** Symbols one connection may follow (default 200). */
  maxSymbols?: number;
  /** Largest client message in bytes (default 8 KiB). */
  maxMessageBytes?: number;
  /** Client messages per second, as a bucket of this size refilled each second (default 20). */
  maxMessagesPerSecond?: number;
  /** A client with more than this many bytes unsent gets ticks conflated instead of queued (default 32 KiB: two or three batch frames, so a slow client waits on fresh values, not a backlog). */
  highWaterBytes?: number;
  /** A client still behind after this long is disconnected (default 10 s). */
  maxBehindMs?: number;
  /** Alerts waiting for one client beyond this count disconnect it: alerts are never dropped silently (default 1,000). */
  maxQueuedAlerts?: number;
  /**
   * The least time between two frames to one client (default 50 ms). A change after a quiet spell goes out at once
   * (on the next turn of the event loop, so a burst of ticks shares one frame); changes within `flushMs` of the last
   * flush wait for the next. Held-back frames of slow clients are retried at the same pace. 0 starts no timer
   * (tests call {@link Hub.flush}).
   *
   * Under load the interval stretches toward 1.5 × the time a flush works (its CPU time on this thread when
   * `cpu` tells it, the writes of its frames included; its duration otherwise), so fan-out takes at most two thirds
   * of the event loop and the feed, the actors and the API keep the rest. Each flush moves the interval a fifth of
   * the way there: one slow flush (a collection, a burst of requests) does not double the next wait for every
   * client. Flushes back under `flushMs` / 1.5 bring the configured interval back. Stretched to twice `flushMs` or
   * more, a flush spreads the clients' turns over the interval instead of sending them all at once, so each client's
   * frames stay an interval apart and the sockets' writes do not arrive in one burst. Where another thread writes the
   * frames (an outlet with `settled`, behind the connection guard), a flush ends once that thread has written them,
   * and the interval moves toward no less than that took.
   */
  flushMs?: number;
  /**
   * The longest a flush works before it yields to the event loop (default 8 ms), so requests and health keep
   * answering between slices. It yields with `setImmediate`: one turn of the event loop, which runs the I/O and the
   * timers that are due, costs about 15 µs, where a `setTimeout(0)` waits out a timer tick (about 2 ms here).
   */
  sliceMs?: number;
  /** Open connections in all (default 10,000) and from one client address (default 64). */
  maxClients?: number;
  maxClientsPerAddress?: number;
  now?: () => number;
  /** Monotonic milliseconds for flush timing (default `performance.now`; tests pass a virtual clock). */
  clock?: () => number;
  /**
   * CPU milliseconds this thread has used (default `process.threadCpuUsage` where the runtime has it; tests pass a
   * virtual one). It tells a flush's work from the time it waits between turns; without it (undefined) the interval
   * follows a flush's duration and turns are not spread.
   */
  cpu?: (() => number) | undefined;
}

/** Counters for /metrics. */
export interface HubStats {
  clients: number;
  framesSent: number;
  /** Quotes carried in batch frames (one per symbol per client per flush, every print for tick-mode symbols). */
  quotesSent: number;
  /** Flushes run, and the longest one in ms (its slices included). */
  flushes: number;
  maxFlushMs: number;
  /** The least time between flushes now, in ms: `flushMs`, or longer after a long flush. */
  flushIntervalMs: number;
  ticksConflated: number;
  slowDisconnects: number;
  errorsSent: number;
  heldBack: number;
}

/** One followed symbol of a client: its topic, the topic's version last sent, and whether every print goes out. */
interface Follow {
  readonly topic: Topic;
  sent: number;
  ticks: boolean;
}

class Client {
  /** Followed symbols, in the order they were followed: each batch lists its quotes in this order. */
  readonly follows = new Map<string, Follow>();
  /** The flush that last listed this client (its number): the flush lists each client once, without a set. */
  listedIn = 0;
  /** Alert frames held back, in order; never conflated. */
  readonly alerts: string[] = [];
  behindSince = 0;
  /** Held back: its socket had more than the high-water mark unsent. */
  behind = false;
  tokens: number;
  refilledAt: number;
  strikes = 0;
  /** Past its strikes: further messages are ignored until the close goes out. */
  closing = false;
  closed = false;

  constructor(
    readonly outlet: WsOutlet,
    readonly userId: string,
    readonly address: string,
    rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.refilledAt = now;
  }
}

/**
 * A symbol some local client follows: its subscribers and what the hub last heard of it. Every quote bumps `version`;
 * a client is current on the symbol once it sent that version, so each client's batch takes exactly what changed
 * since its own last one, whenever in a flush its turn comes.
 */
class Topic {
  readonly clients = new Set<Client>();
  version = 0;
  /** The latest quote's JSON, whole and as its tick row (empty before the first). */
  latest = "";
  row = "";
  /** The latest quote's fields other than the tick's, as JSON, and the version at which they last changed. */
  rest: string | undefined;
  restVersion = 0;
  /** Prints some tick-by-tick subscriber may not have had yet, oldest first; `printsFrom` is the first one's version. */
  prints: string[] = [];
  printsFrom = 0;
  tickSubscribers = 0;
  /** Ends the broker subscriptions of the symbol's quotes and built-in alerts. */
  off: () => void = () => {};
}

/** A flush that worked `d` ms is followed by the next one no sooner than `STRETCH × d` after it started. */
const STRETCH = 1.5;
/** How far each flush moves the interval toward what it measured. */
const SMOOTHING = 0.2;
/** The share of a stretched interval a flush spreads its turns over: the rest absorbs turns that run late. */
const SPREAD = 0.85;
/** Turns are spread once the interval is stretched to this many times `flushMs`. */
const SPREAD_FROM = 2;
/** A flush ahead of its spread by less than this goes on rather than wait a timer out. */
const MIN_WAIT_MS = 2;

/**
 * This thread's CPU time in ms, where the runtime has `process.threadCpuUsage` (Deno does, in steps of 10 ms on this
 * project's Linux machines: the smoothing over flushes evens the steps out).
 */
function threadCpu(): (() => number) | undefined {
  const usage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof usage !== "function") return undefined;
  try {
    usage.call(process);
  } catch {
    return undefined;
  }
  return () => {
    const u = usage.call(process);
    return (u.user + u.system) / 1000;
  };
}

/** Prints kept per symbol between flushes for tick-by-tick clients. */
const MAX_PRINTS = 1_000;
const IS_TICK_FIELD = new Set<string>(TICK_FIELDS);

/**
 * A quote's JSON split in two: its tick row ({@link tickRow}) as JSON, and the fields other than the tick's as JSON to
 * compare with what was sent before. Once per quote per instance, never per client.
 */
function splitQuote(json: string): { row: string; rest: string } {
  const q = JSON.parse(json) as Quote & Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const k in q) if (!IS_TICK_FIELD.has(k)) rest[k] = q[k];
  return { row: JSON.stringify(tickRow(q)), rest: JSON.stringify(rest) };
}

/** Every option set: defaults filled in, but the CPU clock, which a runtime may not have. */
type Settings = Required<Omit<HubOptions, "cpu">> & Pick<HubOptions, "cpu">;

/**
 * The real-time fan-out behind /ws/realtime.
 *
 * Quotes arrive from the broker as JSON, serialized once by their owner. At most every `flushMs` (a first change
 * after a quiet spell at once) each client gets one `batch` frame with the latest quote of each of its symbols that
 * changed since its last batch (every print, whole and in order, for symbols it subscribed with `ticks: true`): the
 * hub concatenates JSON made once per quote, it never serializes a quote per client, and it works through the
 * clients in slices, yielding to the event loop between them so the API stays responsive. Alerts are never batched,
 * conflated or dropped: they go out at once.
 *
 * A client whose socket has more than `highWaterBytes` unsent is behind: its turns send nothing and its alerts wait
 * in order; the next flush after its socket drains sends the alerts, then the latest of each changed symbol (the
 * quotes it skipped counted as conflated). A client behind for longer than `maxBehindMs`, or with too many alerts
 * waiting, is closed with code 4008 and the reason, so slow clients never slow the others. Alerts of a user's own
 * rules go only to that user's connections;
 * built-in alerts to every subscriber of the symbol.
 */
export class Hub {
  readonly #o: Settings;
  readonly #clients = new Set<Client>();
  readonly #topics = new Map<string, Topic>();
  /** Local sockets per user, and the user's alert subscription. */
  readonly #users = new Map<string, { clients: Set<Client>; off: () => void }>();
  readonly #publisher: LivePublisher;
  readonly #behind = new Set<Client>();
  /** Clients whose turn passed while the guard's thread still had their last frame: listed again in the next flush. */
  #waiting = new Set<Client>();
  readonly #perAddress = new Map<string, number>();
  /** Upgraded sockets not open yet: they count toward the limits too. */
  #opening = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the last flush started (on `clock`), for the least time between frames. */
  #lastFlush = -Infinity;
  /** The least time between flushes now: `flushMs`, stretched while flushes take long (see {@link Hub.flush}). */
  #interval = 0;
  #closed = false;
  /** Symbols that changed since the last flush started: their subscribers are listed in the next one. */
  #changed = new Set<Topic>();
  #flushing: Promise<void> | undefined;
  #flushNumber = 0;
  #stats: HubStats = {
    clients: 0,
    framesSent: 0,
    quotesSent: 0,
    flushes: 0,
    maxFlushMs: 0,
    flushIntervalMs: 0,
    ticksConflated: 0,
    slowDisconnects: 0,
    errorsSent: 0,
    heldBack: 0,
  };

  constructor(options: HubOptions) {
    this.#o = {
      maxSymbols: 200,
      maxMessageBytes: 8 * 1024,
      maxMessagesPerSecond: 20,
      highWaterBytes: 32 * 1024,
      maxBehindMs: 10_000,
      maxQueuedAlerts: 1_000,
      flushMs: 50,
      sliceMs: 8,
      maxClients: 10_000,
      maxClientsPerAddress: 64,
      now: Date.now,
      clock: () => performance.now(),
      cpu: threadCpu(),
      broker: options.broker ?? new MemoryBroker(),
      subjects: options.subjects ?? subjects("live"),
      ...options,
    } as Settings;
    this.#interval = this.#stats.flushIntervalMs = this.#o.flushMs;
    this.#publisher = new LivePublisher(this.#o.broker, this.#o.subjects);
  }

  /**
   * Whether one more connection from `address` fits the limits; the reason when it does not. Checked before the
   * upgrade, so a refused client gets an HTTP error rather than a socket.
   */
  admits(address: string): string | undefined {
    if (this.#clients.size + this.#opening >= this.#o.maxClients) {
      return `this server holds at most ${this.#o.maxClients} WebSocket connections`;
    }
    if ((this.#perAddress.get(address) ?? 0) >= this.#o.maxClientsPerAddress) {
      return `at most ${this.#o.maxClientsPerAddress} WebSocket connections per client address`;
    }
    return undefined;
  }

  /**
   * Takes over an upgraded socket for user `userId` connecting from `address`. Frames go out through `outlet` (default:
   * the socket itself; behind the connection guard, its thread writes them).
   */
  accept(socket: WebSocket, userId: string, address = "", outlet: WsOutlet = socketOutlet(socket)): void {
    const c = new Client(outlet, userId, address, this.#o.maxMessagesPerSecond, this.#o.now());
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    this.#opening++;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#opening--;
      if (c.closed) return;
      this.#clients.add(c);
      this.#stats.clients = this.#clients.size;
      this.#joinUser(c);
    };
    const gone = () => {
      if (!opened) {
        opened = true;
        this.#opening--;
      }
      this.#drop(c);
    };
    socket.onmessage = (ev) => this.#onMessage(c, ev.data);
    socket.onclose = gone;
    socket.onerror = gone;
  }

  /**
   * Arms the flush timer if it is not armed: due `flushMs` after the last flush started, or on the next turn of the
   * event loop when that is past. Throttling on the leading edge keeps a quiet symbol's first change from waiting a
   * whole interval, while a busy stream still gets at most one frame per client per `flushMs`.
   */
  #schedule(): void {
    if (this.#o.flushMs <= 0 || this.#timer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastFlush + this.#interval - this.#o.clock());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, wait);
  }

  #drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    this.#clients.delete(c);
    this.#behind.delete(c);
    this.#waiting.delete(c);
    for (const [s, f] of c.follows) {
      this.#untick(f);
      this.#leave(s, c);
    }
    c.follows.clear();
    this.#leaveUser(c);
    const n = (this.#perAddress.get(c.address) ?? 1) - 1;
    if (n <= 0) this.#perAddress.delete(c.address);
    else this.#perAddress.set(c.address, n);
    this.#stats.clients = this.#clients.size;
  }

  #error(c: Client, message: string): void {
    this.#stats.errorsSent++;
    this.#send(c, JSON.stringify({ type: "error", message }));
    // A client that keeps breaking the rules is cut off rather than answered forever.
    if (++c.strikes >= 20 && !c.closing) {
      // Messages already on their way are dropped from here on; the close goes out after what was queued for the
      // client, so it reads the errors and the reason instead of a reset.
      c.closing = true;
      setTimeout(() => this.#close(c, 1008, "too many invalid messages"), 0);
    }
  }

  #onMessage(c: Client, data: unknown): void {
    if (c.closing) return;
    const now = this.#o.now();
    c.tokens = Math.min(
      this.#o.maxMessagesPerSecond,
      c.tokens + (now - c.refilledAt) / 1000 * this.#o.maxMessagesPerSecond,
    );
    c.refilledAt = now;
    if (c.tokens < 1) return this.#error(c, `rate limit: at most ${this.#o.maxMessagesPerSecond} messages per second`);
    c.tokens--;
    if (typeof data !== "string") return this.#error(c, "messages must be JSON text");
    if (data.length > this.#o.maxMessageBytes) {
      return this.#error(c, `message too large: at most ${this.#o.maxMessageBytes} bytes`);
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return this.#error(c, "message is not JSON");
    }
    const parsed = clientMessageSchema.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return this.#error(c, `${i.path.join(".") || "message"}: ${i.message}`);
    }
    const msg = parsed.data;
    if (msg.type === "ping") return this.#send(c, '{"type":"pong"}');
    if (msg.type === "unsubscribe") {
      for (const s of msg.symbols) {
        const f = c.follows.get(s);
        if (!f) continue;
        c.follows.delete(s);
        this.#untick(f);
        this.#leave(s, c);
      }
      return;
    }
    const fresh = msg.symbols.filter((s) => !c.follows.has(s));
    if (c.follows.size + fresh.length > this.#o.maxSymbols) {
      return this.#error(c, `too many symbols: at most ${this.#o.maxSymbols} per connection`);
    }
    for (const s of fresh) {
      let topic = this.#topics.get(s);
      if (!topic) {
        this.#topics.set(s, topic = new Topic());
        this.#follow(s, topic);
      }
      topic.clients.add(c);
      c.follows.set(s, { topic, sent: 0, ticks: false });
    }
    for (const s of msg.symbols) {
      const f = c.follows.get(s)!;
      if (msg.ticks && !f.ticks) {
        f.ticks = true;
        f.topic.tickSubscribers++;
      } else if (msg.ticks === false) this.#untick(f);
    }
    this.#snapshot(c, msg.symbols);
  }

  /**
   * Sends `c` the latest quote of each of `symbols` the hub or the quote source knows. Synchronous when the source
   * answers synchronously (one process), so the snapshot always precedes the ticks that follow it there.
   */
  #snapshot(c: Client, symbols: readonly string[]): void {
    const parts: string[] = [];
    const missing: string[] = [];
    for (const s of symbols) {
      const f = c.follows.get(s)!;
      const json = f.topic.latest;
      // The snapshot carries what the hub holds: batches go on from there.
      f.sent = f.topic.version;
      if (json) parts.push(json);
      else missing.push(s);
    }
    const finish = (quotes: readonly Quote[]) => {
      for (const q of quotes) parts.push(this.#topics.get(q.symbol)?.latest || JSON.stringify(q));
      if (!c.closed) this.#send(c, `{"type":"snapshot","quotes":[${parts.join(",")}]}`);
    };
    if (missing.length === 0) return finish([]);
    let got: Quote[] | Promise<Quote[]>;
    try {
      got = this.#o.quotes(missing);
    } catch {
      got = [];
    }
    // The snapshot is a convenience: live ticks follow for whatever the source could not answer.
    if (Array.isArray(got)) finish(got);
    else got.then(finish, () => finish([]));
  }

  /** Subscribes to a newly followed symbol's quotes and built-in alerts. */
  #follow(symbol: string, topic: Topic): void {
    const offQuote = this.#o.broker.subscribe(
      this.#o.subjects.quote(symbol),
      (json) => this.#deliverQuote(topic, json),
    );
    const offAlert = this.#o.broker.subscribe(
      this.#o.subjects.symbolAlert(symbol),
      (json) => this.#deliverAlert(topic.clients, json),
    );
    topic.off = () => {
      offQuote();
      offAlert();
    };
  }

  #joinUser(c: Client): void {
    const u = this.#users.get(c.userId);
    if (u) {
      u.clients.add(c);
      return;
    }
    const clients = new Set([c]);
    const off = this.#o.broker.subscribe(
      this.#o.subjects.userAlert(c.userId),
      (json) => this.#deliverAlert(clients, json),
    );
    this.#users.set(c.userId, { clients, off });
  }

  #leaveUser(c: Client): void {
    const u = this.#users.get(c.userId);
    if (!u?.clients.delete(c) || u.clients.size > 0) return;
    u.off();
    this.#users.delete(c.userId);
  }

  #untick(f: Follow): void {
    if (!f.ticks) return;
    f.ticks = false;
    if (--f.topic.tickSubscribers === 0) f.topic.prints = [];
  }

  /** Takes `c` off `symbol`'s subscribers; a symbol nobody follows is forgotten. */
  #leave(symbol: string, c: Client): void {
    const topic = this.#topics.get(symbol);
    if (!topic) return;
    topic.clients.delete(c);
    if (topic.clients.size > 0) return;
    this.#topics.delete(symbol);
    this.#changed.delete(topic);
    topic.off();
  }

  /** Symbols with at least one subscriber (tests, metrics). */
  topicCount(): number {
    return this.#topics.size;
  }

  /** Puts a quote on the broker; every hub following its symbol fans it out. */
  quote(q: Quote): void {
    this.#publisher.quote(q);
  }

  /**
   * Puts an alert on the broker: a user's own rule reaches that user's sessions on every instance, subscribed to the
   * symbol or not; a built-in alert reaches every subscriber of the symbol.
   */
  alert(a: Alert): void {
    this.#publisher.alert(a);
  }

  /**
   * Notes one quote for the next flush; nothing is sent or serialized per client here. Batches carry the latest
   * quote as its tick row (a third of the bytes) unless its other fields changed since the client's last batch: then
   * whole. Prints for tick-by-tick clients stay whole.
   */
  #deliverQuote(t: Topic, json: string): void {
    if (this.#closed) return;
    const version = ++t.version;
    t.latest = json;
    const { row, rest } = splitQuote(json);
    t.row = row;
    if (rest !== t.rest) {
      t.rest = rest;
      t.restVersion = version;
    }
    this.#changed.add(t);
    this.#schedule();
    if (t.tickSubscribers > 0) {
      if (t.prints.length === 0) t.printsFrom = version;
      // A burst beyond this between two flushes keeps its latest prints; a client that misses some gets the latest
      // quote whole instead, and the per-client budget applies to the rest anyway.
      else if (t.prints.length >= MAX_PRINTS) {
        t.prints.shift();
        t.printsFrom++;
      }
      t.prints.push(json);
    }
  }

  /**
   * Sends every client with news one batch frame, and retries clients held back. The timer runs it at most every
   * `flushMs`; a flush still running when the next is due absorbs it. Resolves when every slice is done.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushOnce().finally(() => {
      this.#flushing = undefined;
      // Symbols that changed during the flush, and clients still behind, go in the next one.
      if (this.#changed.size > 0 || this.#behind.size > 0 || this.#waiting.size > 0) this.#schedule();
    });
    return this.#flushing;
  }

  /**
   * One flush: lists the subscribers of the symbols that changed since the last flush started, and the clients held
   * back, then sends each its batch in slices. A client's batch is made when its turn comes and takes every change up
   * to then, including those that arrived while earlier slices went out; and clients take their turns in the order
   * they connected, flush after flush. So a client's frames are one flush interval apart, and no value waits longer
   * than that for its client's next turn, even when one flush's slices take most of the interval.
   */
  async #flushOnce(): Promise<void> {
    const started = this.#o.clock();
    this.#lastFlush = started;
    const changed = this.#changed;
    this.#changed = new Set();
    // Each client is marked with this flush's number rather than put in a set: a flush at 5,000 clients visits a
    // million client-symbol pairs, and a set insertion per pair was a tenth of its time.
    const flush = ++this.#flushNumber;
    for (const c of this.#behind) c.listedIn = flush;
    for (const c of this.#waiting) c.listedIn = flush;
    this.#waiting = new Set();
    // Per symbol with prints: the version up to which every tick-by-tick subscriber has its prints once this flush is
    // done (or they are moot for one behind; lowered for one that skips its turn), so they can be let go.
    const printedTo = new Map<Topic, number>();
    for (const t of changed) {
      for (const c of t.clients) c.listedIn = flush;
      if (t.prints.length > 0) printedTo.set(t, t.version);
    }
    const listed: Client[] = [];
    for (const c of this.#clients) if (c.listedIn === flush) listed.push(c);
    // Outlets written by another thread (behind the connection guard): the flush ends once that thread took its
    // frames, so a thread that writes slower than this one batches paces the flushes instead of queueing them up.
    const writers = new Set<() => Promise<void>>();
    let lastWriter: (() => Promise<void>) | undefined;
    const cpu = this.#o.cpu;
    const cpuStart = cpu?.() ?? 0;
    // Stretched to twice flushMs or more, the turns are spread over most of the interval: client i's turn comes no
    // sooner than its share of it. Less stretched, a flush is short, and its turns go at once, right after the ticks
    // that brought it on (a feed delivers ticks in bursts, and spreading would put later clients' turns well after
    // theirs). Without a CPU clock, waiting would read as work and stretch the interval further: no spreading; nor
    // without a timer (flushMs 0), where whoever calls flush sets the pace.
    const spread = cpu && this.#o.flushMs > 0 && this.#interval >= SPREAD_FROM * this.#o.flushMs
      ? SPREAD * this.#interval
      : 0;
    let waited = 0;
    let sliceStart = this.#o.clock();
    for (let i = 0; i < listed.length; i++) {
      const c = listed[i]!;
      this.#sendBatch(c, printedTo);
      const settled = c.outlet.settled;
      if (settled !== undefined && settled !== lastWriter) writers.add(lastWriter = settled);
      // The clock is read every 16 clients: a batch takes microseconds, a clock read is not free either.
      if ((i & 15) !== 15 || i + 1 === listed.length) continue;
      const now = this.#o.clock();
      const ahead = spread > 0 ? started + spread * (i + 1) / listed.length - now : 0;
      if (ahead >= MIN_WAIT_MS) {
        await new Promise((r) => setTimeout(r, ahead));
        sliceStart = this.#o.clock();
        waited += sliceStart - now;
      } else if (now - sliceStart >= this.#o.sliceMs) {
        await new Promise((r) => setImmediate(r));
        sliceStart = this.#o.clock();
      }
    }
    for (const [t, to] of printedTo) {
      const done = Math.min(t.prints.length, to - t.printsFrom + 1);
      if (done > 0) {
        t.prints.splice(0, done);
        t.printsFrom += done;
      }
    }
    // The flush's work: this thread's CPU time over it (the writes of its frames run on this thread between
    // slices, and while it waits), or its duration.
    const work = cpu ? cpu() - cpuStart : this.#o.clock() - started;
    if (writers.size > 0) await Promise.all([...writers].map((settled) => settled()));
    this.#stats.heldBack = this.#behind.size;
    this.#stats.flushes++;
    const took = this.#o.clock() - started;
    this.#stats.maxFlushMs = Math.max(this.#stats.maxFlushMs, took);
    // Another thread's writes bound the interval by how long they took, less the time spent ahead of the spread.
    const target = Math.max(this.#o.flushMs, STRETCH * work, took - waited);
    this.#interval += SMOOTHING * (target - this.#interval);
    this.#stats.flushIntervalMs = this.#interval;
  }

  /**
   * One client's turn in a flush: a batch frame with the latest quote of each followed symbol that changed since its
   * last one (every print since then for symbols it takes tick by tick), or nothing while its socket is behind: its
   * symbols' versions then stay where they were, and its first batch after it drains carries only the latest of each.
   */
  #sendBatch(c: Client, printedTo: Map<Topic, number>): void {
    if (c.closed) {
      this.#behind.delete(c);
      return;
    }
    const unsent = c.outlet.bufferedAmount;
    if (unsent > this.#o.highWaterBytes) {
      this.#markBehind(c);
      if (this.#o.now() - c.behindSince > this.#o.maxBehindMs) {
        this.#close(c, 4008, `too slow: behind for more than ${Math.round(this.#o.maxBehindMs / 1000)} s`);
      }
      return;
    }
    const wasBehind = c.behind;
    // Another thread writes its frames (the connection guard's) and has not written its last one yet: a frame made
    // now would only queue behind it. The client's next turn takes the latest instead. (A socket this thread writes
    // has had its last frame written by now unless the client stopped reading, which the high-water mark handles.)
    if (!wasBehind && c.outlet.settled !== undefined && unsent > 0) {
      this.#waiting.add(c);
      // Its next turn still takes every print it has not had.
      for (const f of c.follows.values()) {
        const to = f.ticks ? printedTo.get(f.topic) : undefined;
        if (to !== undefined && f.sent < to) printedTo.set(f.topic, f.sent);
      }
      return;
    }
    if (wasBehind) {
      c.behind = false;
      for (const f of c.alerts.splice(0)) this.#sendRaw(c, f);
      c.behindSince = 0;
      this.#behind.delete(c);
    }
    const parts: string[] = [];
    for (const f of c.follows.values()) {
      const t = f.topic;
      const sent = f.sent;
      if (t.version === sent) continue;
      f.sent = t.version;
      if (f.ticks) {
        if (!wasBehind && t.printsFrom <= sent + 1 && t.prints.length > 0) {
          for (let k = sent + 1 - t.printsFrom; k < t.prints.length; k++) parts.push(t.prints[k]!);
          continue;
        }
        parts.push(t.latest);
      } else parts.push(t.restVersion > sent ? t.latest : t.row);
      // Held back: every quote of the symbol since its last batch but the latest was replaced.
      if (wasBehind) this.#stats.ticksConflated += t.version - sent - 1;
    }
    if (parts.length === 0) return;
    this.#stats.quotesSent += parts.length;
    this.#sendRaw(c, `{"type":"batch","quotes":[${parts.join(",")}]}`);
  }

  /** Sends one alert's JSON to `targets`; never conflated. */
  #deliverAlert(targets: Iterable<Client>, json: string): void {
    const frame = '{"type":"alert",' + json.slice(1);
    for (const c of [...targets]) {
      if (c.closed) continue;
      if (!c.behind && c.alerts.length === 0 && c.outlet.bufferedAmount <= this.#o.highWaterBytes) {
        this.#sendRaw(c, frame);
        continue;
      }
      c.alerts.push(frame);
      this.#markBehind(c);
      if (c.alerts.length > this.#o.maxQueuedAlerts) this.#close(c, 4008, "too slow: alerts are piling up");
    }
  }

  #markBehind(c: Client): void {
    if (!c.behind) {
      c.behind = true;
      c.behindSince = this.#o.now();
    }
    this.#behind.add(c);
    this.#stats.heldBack = this.#behind.size;
    this.#schedule();
  }

  #close(c: Client, code: number, reason: string): void {
    if (code === 4008) this.#stats.slowDisconnects++;
    try {
      c.outlet.close(code, reason);
    } catch {
      // already closing
    }
    this.#drop(c);
  }

  #send(c: Client, frame: string): void {
    if (c.behind) {
      c.alerts.push(frame); // control frames keep their order with the alerts
      return;
    }
    this.#sendRaw(c, frame);
  }

  #sendRaw(c: Client, frame: string): void {
    if (c.closed || !c.outlet.open) return;
    try {
      c.outlet.send(frame);
      this.#stats.framesSent++;
    } catch {
      this.#drop(c);
    }
  }

  stats(): HubStats {
    return { ...this.#stats };
  }

  /** Closes every connection with 1001 (going away). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const c of [...this.#clients]) {
      try {
        c.outlet.close(1001, "server shutting down");
      } catch {
        // already closed
      }
      this.#drop(c);
    }
  }
}
