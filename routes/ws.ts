import { z } from "zod";
import type { Quote } from "../actors/symbol_actor.ts";
import type { Alert } from "../schema/alert.ts";
import { symbolSchema } from "../schema/symbol.ts";

/**
 * Largest message the transport lets through on any WebSocket: the connection guard closes a connection whose frame
 * headers announce more, before the server buffers it. Messages between the hub's own limit (8 KiB, answered with
 * an error frame) and this are read and refused.
 */
export const WS_MAX_MESSAGE_BYTES = 64 * 1024;

/** What a client may send on /ws/realtime. */
export const clientMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), symbols: z.array(symbolSchema).min(1).max(500) }),
  z.object({ type: z.literal("unsubscribe"), symbols: z.array(symbolSchema).min(1).max(500) }),
  z.object({ type: z.literal("ping") }),
], { error: "type must be subscribe, unsubscribe or ping" });

/** Limits and timings of the hub. */
export interface HubOptions {
  /** Latest quotes for the snapshot a client gets on subscribe. */
  quotes: (symbols: readonly string[]) => Quote[];
  /** Symbols one connection may follow (default 200). */
  maxSymbols?: number;
  /** Largest client message in bytes (default 8 KiB). */
  maxMessageBytes?: number;
  /** Client messages per second, as a bucket of this size refilled each second (default 20). */
  maxMessagesPerSecond?: number;
  /** A client with more than this many bytes unsent gets ticks conflated instead of queued (default 256 KiB). */
  highWaterBytes?: number;
  /** A client still behind after this long is disconnected (default 10 s). */
  maxBehindMs?: number;
  /** Alerts waiting for one client beyond this count disconnect it: alerts are never dropped silently (default 1,000). */
  maxQueuedAlerts?: number;
  /** How often held-back frames are retried (default 50 ms). */
  drainMs?: number;
  /** Open connections in all (default 10,000) and from one client address (default 64). */
  maxClients?: number;
  maxClientsPerAddress?: number;
  now?: () => number;
}

/** Counters for /metrics. */
export interface HubStats {
  clients: number;
  framesSent: number;
  ticksConflated: number;
  slowDisconnects: number;
  errorsSent: number;
  heldBack: number;
}

class Client {
  readonly symbols = new Set<string>();
  /** Tick frames held back while the socket is behind, one per symbol (latest wins). */
  readonly held = new Map<string, string>();
  /** Alert frames held back, in order; never conflated. */
  readonly alerts: string[] = [];
  behindSince = 0;
  tokens: number;
  refilledAt: number;
  strikes = 0;
  /** Past its strikes: further messages are ignored until the close goes out. */
  closing = false;
  closed = false;

  constructor(
    readonly socket: WebSocket,
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
 * The real-time fan-out behind /ws/realtime.
 *
 * Each tick is serialized once and handed to the clients subscribed to its symbol. A client whose socket has more
 * than `highWaterBytes` unsent is behind: its ticks are held one per symbol (latest wins, counted as conflated) and
 * its alerts in order, and a timer sends them once the socket drains. A client behind for longer than `maxBehindMs`,
 * or with too many alerts waiting, is closed with code 4008 and the reason, so slow clients never slow the others.
 * Alerts of a user's own rules go only to that user's connections; built-in alerts to every subscriber of the symbol.
 */
export class Hub {
  readonly #o: Required<HubOptions>;
  readonly #clients = new Set<Client>();
  readonly #topics = new Map<string, Set<Client>>();
  readonly #behind = new Set<Client>();
  readonly #perAddress = new Map<string, number>();
  /** Upgraded sockets not open yet: they count toward the limits too. */
  #opening = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stats: HubStats = { clients: 0, framesSent: 0, ticksConflated: 0, slowDisconnects: 0, errorsSent: 0, heldBack: 0 };

  constructor(options: HubOptions) {
    this.#o = {
      maxSymbols: 200,
      maxMessageBytes: 8 * 1024,
      maxMessagesPerSecond: 20,
      highWaterBytes: 256 * 1024,
      maxBehindMs: 10_000,
      maxQueuedAlerts: 1_000,
      drainMs: 50,
      maxClients: 10_000,
      maxClientsPerAddress: 64,
      now: Date.now,
      ...options,
    };
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

  /** Takes over an upgraded socket for user `userId` connecting from `address`. */
  accept(socket: WebSocket, userId: string, address = ""): void {
    const c = new Client(socket, userId, address, this.#o.maxMessagesPerSecond, this.#o.now());
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    this.#opening++;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#opening--;
      this.#clients.add(c);
      this.#stats.clients = this.#clients.size;
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
    this.#timer ??= setInterval(() => this.drain(), this.#o.drainMs);
  }

  #drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    this.#clients.delete(c);
    this.#behind.delete(c);
    for (const s of c.symbols) this.#leave(s, c);
    c.symbols.clear();
    c.held.clear();
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
        c.symbols.delete(s);
        c.held.delete(s);
        this.#leave(s, c);
      }
      return;
    }
    const fresh = msg.symbols.filter((s) => !c.symbols.has(s));
    if (c.symbols.size + fresh.length > this.#o.maxSymbols) {
      return this.#error(c, `too many symbols: at most ${this.#o.maxSymbols} per connection`);
    }
    for (const s of fresh) {
      c.symbols.add(s);
      let set = this.#topics.get(s);
      if (!set) this.#topics.set(s, set = new Set());
      set.add(c);
    }
    this.#send(c, JSON.stringify({ type: "snapshot", quotes: this.#o.quotes(msg.symbols) }));
  }

  /** Takes `c` off `symbol`'s subscribers; a symbol nobody follows is forgotten. */
  #leave(symbol: string, c: Client): void {
    const set = this.#topics.get(symbol);
    if (!set) return;
    set.delete(c);
    if (set.size === 0) this.#topics.delete(symbol);
  }

  /** Symbols with at least one subscriber (tests, metrics). */
  topicCount(): number {
    return this.#topics.size;
  }

  /** Fans a quote out to the subscribers of its symbol; serialized once. */
  quote(q: Quote): void {
    const subs = this.#topics.get(q.symbol);
    if (!subs || subs.size === 0) return;
    const frame = JSON.stringify({ type: "tick", ...q });
    for (const c of subs) {
      if (c.behindSince === 0 && c.socket.bufferedAmount <= this.#o.highWaterBytes) {
        this.#sendRaw(c, frame);
        continue;
      }
      if (c.held.has(q.symbol)) this.#stats.ticksConflated++;
      c.held.set(q.symbol, frame);
      this.#markBehind(c);
    }
  }

  /** Sends an alert to the connections that should see it; never conflated. */
  alert(a: Alert): void {
    const subs = this.#topics.get(a.symbol);
    const frame = JSON.stringify({ type: "alert", ...a });
    const targets = a.userId === "" ? subs ?? [] : [...this.#clients].filter((c) => c.userId === a.userId); // a user's own rule: their sessions, subscribed or not
    for (const c of targets) {
      if (c.behindSince === 0 && c.alerts.length === 0 && c.socket.bufferedAmount <= this.#o.highWaterBytes) {
        this.#sendRaw(c, frame);
        continue;
      }
      c.alerts.push(frame);
      this.#markBehind(c);
      if (c.alerts.length > this.#o.maxQueuedAlerts) this.#close(c, 4008, "too slow: alerts are piling up");
    }
  }

  #markBehind(c: Client): void {
    if (c.behindSince === 0) c.behindSince = this.#o.now();
    this.#behind.add(c);
    this.#stats.heldBack = this.#behind.size;
  }

  /** Sends held frames of clients that caught up; disconnects those behind for too long. Runs every `drainMs`. */
  drain(): void {
    const now = this.#o.now();
    for (const c of this.#behind) {
      if (c.closed) {
        this.#behind.delete(c);
        continue;
      }
      if (c.socket.bufferedAmount > this.#o.highWaterBytes) {
        if (now - c.behindSince > this.#o.maxBehindMs) {
          this.#close(c, 4008, `too slow: behind for more than ${Math.round(this.#o.maxBehindMs / 1000)} s`);
        }
        continue;
      }
      for (const f of c.alerts.splice(0)) this.#sendRaw(c, f);
      for (const f of c.held.values()) this.#sendRaw(c, f);
      c.held.clear();
      c.behindSince = 0;
      this.#behind.delete(c);
    }
    this.#stats.heldBack = this.#behind.size;
  }

  #close(c: Client, code: number, reason: string): void {
    if (code === 4008) this.#stats.slowDisconnects++;
    try {
      c.socket.close(code, reason);
    } catch {
      // already closing
    }
    this.#drop(c);
  }

  #send(c: Client, frame: string): void {
    if (c.behindSince !== 0) {
      c.alerts.push(frame); // control frames keep their order with the alerts
      return;
    }
    this.#sendRaw(c, frame);
  }

  #sendRaw(c: Client, frame: string): void {
    if (c.closed || c.socket.readyState !== WebSocket.OPEN) return;
    try {
      c.socket.send(frame);
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
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const c of [...this.#clients]) {
      try {
        c.socket.close(1001, "server shutting down");
      } catch {
        // already closed
      }
      this.#drop(c);
    }
  }
}
