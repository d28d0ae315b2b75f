/**
 * The TCP front of the HTTP server: accepts connections itself, caps them, times out silent and slow ones, and
 * relays the rest to the app's `Deno.serve` listening on loopback.
 *
 * Why a front of our own: `Deno.serve` has no header or idle timeout, no connection cap, and its accept loop dies
 * (an uncaught rejection) when the process runs out of file descriptors. No maintained Deno library adds these to
 * `Deno.serve`, so the guard owns the listening socket:
 *
 * - an accept error (EMFILE, ENFILE, ...) backs off and retries; it never ends the process;
 * - at most `maxConnections` in total and `maxPerAddress` per client address; when a cap is reached the oldest
 *   connection that has not yet sent a complete request is closed to make room, otherwise the new one is refused;
 * - a request's headers must arrive within `headerTimeoutMs` of its first byte (of the accept, for the first one);
 *   a keep-alive connection idle for `idleTimeoutMs` is closed;
 * - after a WebSocket upgrade request, the client's frames are read as they pass: a frame or message larger than
 *   `maxWsMessageBytes` closes the connection before the server buffers it;
 * - the app may hand it WebSocket frames to write to a client itself ({@link ConnGuard.inject}): they go between the
 *   app's own frames, which the guard follows as they pass.
 *
 * Requests are framed (headers, Content-Length or chunked bodies) only as far as needed to find the next request's
 * headers; anything that does not parse as HTTP/1.1 is closed, as the server behind would refuse it anyway.
 */
import type { Logger, LogLevel } from "../schema/log.ts";
import {
  ENTRY_WORDS,
  FRAME_CLOSE,
  FrameChannel,
  type FramesMessage,
  PENDING_BYTES,
  type WsOutlet,
} from "./frame_channel.ts";

/** Settings of the guard. */
export interface ConnGuardOptions {
  /** Public address to listen on. */
  hostname?: string;
  port: number;
  /** Where the app's `Deno.serve` listens (loopback). */
  upstream: { hostname: string; port: number };
  /** Most open connections in total. */
  maxConnections: number;
  /** Most open connections from one client address. */
  maxPerAddress: number;
  /** A request's headers must be complete this long after its first byte (or after the accept). */
  headerTimeoutMs: number;
  /** A keep-alive connection with no bytes either way for this long is closed (not applied to WebSockets). */
  idleTimeoutMs: number;
  /** Largest WebSocket message a client may send, checked from frame headers as bytes pass. */
  maxWsMessageBytes: number;
  /** Largest request header block. */
  maxHeaderBytes?: number;
  log?: Logger;
  /** Where client addresses are kept by relay port (default: a map of this thread). */
  peers?: PeerTable;
  /** Where the counters are kept (default: an object of this thread). */
  stats?: ConnGuardStats;
  /**
   * Bytes of frames the app handed over ({@link ConnGuard.inject}) not yet written, by relay port; the guard takes
   * off what it writes or drops (default: a table of this thread).
   */
  pendingFrames?: Int32Array;
}

/** Client addresses by the local port of their relay connection to the app. */
export interface PeerTable {
  get(port: number): Deno.NetAddr | undefined;
  set(port: number, addr: Deno.NetAddr): void;
  delete(port: number): void;
}

const STAT_KEYS = [
  "open",
  "accepted",
  "refused",
  "evicted",
  "timedOut",
  "acceptErrors",
  "oversizeWsMessages",
  "badRequests",
] as const;

/** Counters of the guard, for /metrics and tests. */
export interface ConnGuardStats {
  open: number;
  accepted: number;
  refused: number;
  evicted: number;
  timedOut: number;
  acceptErrors: number;
  oversizeWsMessages: number;
  badRequests: number;
}

type Phase = "headers" | "body" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers" | "ws";

class Tracked {
  /** Bytes of the current request's header block, until complete. */
  head: number[] = [];
  phase: Phase = "headers";
  /** Set while a request's headers are being received: they must be complete by then. */
  headerDeadline: number;
  /** A complete request has been seen: no longer a candidate for eviction. */
  served = false;
  lastActivity: number;
  upstream: Deno.Conn | undefined;
  /** Body bytes (or chunk bytes) still to skip. */
  remaining = 0;
  chunkLine = "";
  trailerLine = "";
  wsUpgrade = false;
  /** Counted in the guard's relays on their way to the app. */
  starting = false;
  /** A request went up and no response byte has come back yet: not idle, however long the app takes. */
  awaitingResponse = false;
  // WebSocket frame parsing state.
  wsConfirmed = false;
  wsHeader: number[] = [];
  wsPayloadLeft = 0;
  wsMessageBytes = 0;
  closed = false;
  /** The app closed its side: the client got a FIN, and what it still sends is read and dropped until this time. */
  drainUntil = 0;
  /** Local port of the relay connection to the app, once it is connected. */
  relayPort = 0;
  /** Bytes for the client, in order. */
  outq: OutChunk[] = [];
  writing = false;
  /** Waiting for the queue to empty: the down pump, before it reads more of the app's bytes. */
  drained: (() => void)[] = [];
  /** Frames the app handed over, waiting for its own bytes to reach a frame boundary; and their kinds. */
  held: Uint8Array[] = [];
  heldKinds: number[] = [];
  // The app's bytes to a WebSocket client, followed as frames once the 101's head is through.
  downHead = true;
  /** How much of the "\r\n\r\n" ending the 101's head the last bytes matched. */
  downCrlf = 0;
  downHeader: number[] = [];
  downPayloadLeft = 0;
  /** The app sent its close frame: frames handed over after it are dropped. */
  appClosing = false;
  /**
   * Set once a close frame handed over went to the client: nothing more goes to it, and it is closed at this time at
   * the latest.
   */
  closeBy = 0;

  constructor(readonly conn: Deno.Conn, readonly address: string, now: number, headerTimeoutMs: number) {
    this.lastActivity = now;
    this.headerDeadline = now + headerTimeoutMs;
  }
}

class ProtocolError extends Error {}

/** Frames of one message from the app whose writes it waits for ({@link ConnGuard.inject}). */
interface Batch {
  left: number;
  /** Writes that may still be under way when the batch counts as done: a hundredth of those it started. */
  stragglers: number;
  done: () => void;
}

/** Bytes queued for a client: the app's own, or a frame it handed over (counted as pending), maybe in a batch. */
interface OutChunk {
  bytes: Uint8Array;
  counted: boolean;
  batch: Batch | undefined;
}

/** A chunk is written, or dropped with its client: its batch has one write less to wait for. */
function settle(o: OutChunk): void {
  if (o.batch && --o.batch.left === o.batch.stragglers) o.batch.done();
}

/** Sizes of the buffer relaying the app's bytes to a client: the first, and the one a full read moves to. */
const DOWN_BUFFER_BYTES = [16 * 1024, 64 * 1024] as const;
/** How long a client has to answer a close frame the app handed over before its connection is closed. */
const CLOSE_ANSWER_MS = 5_000;
const HEAD_END = [13, 10, 13, 10] as const;
/**
 * The app stops waiting on the writes of a message of frames ({@link ConnGuard.inject}) once no write to any client
 * has finished for this long (what is left is for clients that stopped reading), and after the longest wait at most.
 */
const WRITES_STALLED_MS = 100;
const BATCH_WAIT_MS = 2_000;

/** Listens on the public port and relays admitted connections to `upstream`. */
export class ConnGuard {
  readonly #o: Required<Omit<ConnGuardOptions, "hostname" | "log">> & Pick<ConnGuardOptions, "hostname" | "log">;
  readonly #listener: Deno.Listener;
  readonly #all = new Set<Tracked>();
  readonly #byAddress = new Map<string, Set<Tracked>>();
  /** Local port of a relay connection to the app → the client's address. */
  readonly #peers: PeerTable;
  readonly #stats: ConnGuardStats;
  readonly #pending: Int32Array;
  /** When a write to a client last finished (`performance.now()`): how {@link ConnGuard.inject} tells a stall. */
  #lastWrite = 0;
  /** Connections by the local port of their relay to the app: where frames the app hands over go. */
  readonly #byRelay = new Map<number, Tracked>();
  /** The message being injected, while it is. */
  #batch: Batch | undefined;
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #loop: Promise<void>;
  #closing = false;
  #lastAcceptLog = 0;
  /** Until then the process is short of descriptors (an accept failed): see {@link ConnGuard.#admit}. */
  #pressureUntil = 0;
  /** Relays on their way to the app: connecting, or connected with no answer byte yet. */
  #starting = 0;

  /** The address the guard listens on. */
  readonly addr: Deno.NetAddr;

  constructor(options: ConnGuardOptions) {
    this.#peers = options.peers ?? new Map<number, Deno.NetAddr>();
    this.#stats = options.stats ?? Object.fromEntries(STAT_KEYS.map((k) => [k, 0])) as unknown as ConnGuardStats;
    this.#pending = options.pendingFrames ?? new Int32Array(PENDING_BYTES / 4);
    this.#o = {
      maxHeaderBytes: 32 * 1024,
      ...options,
      peers: this.#peers,
      stats: this.#stats,
      pendingFrames: this.#pending,
    };
    this.#listener = Deno.listen({ hostname: options.hostname ?? "0.0.0.0", port: options.port });
    this.addr = this.#listener.addr as Deno.NetAddr;
    const tick = Math.max(
      50,
      Math.min(1_000, Math.floor(Math.min(options.headerTimeoutMs, options.idleTimeoutMs) / 4)),
    );
    this.#sweep = setInterval(() => this.#expire(), tick);
    this.#loop = this.#acceptLoop();
  }

  /** Points new relay connections at another app listener (after the app's server was restarted). */
  setUpstream(upstream: { hostname: string; port: number }): void {
    this.#o.upstream = upstream;
  }

  /** The client address behind a relay connection the app received from `remote` (the relay's local side). */
  peer(remote: Deno.NetAddr): Deno.NetAddr | undefined {
    return this.#peers.get(remote.port);
  }

  stats(): ConnGuardStats {
    return { ...this.#stats };
  }

  async #acceptLoop(): Promise<void> {
    let backoff = 5;
    while (!this.#closing) {
      // Short of descriptors, a relay on its way to the app needs the ones that free up (its connection here, and
      // the app's side of it on the app's thread) more than the next client in the backlog does.
      while (this.#starting > 0 && Date.now() < this.#pressureUntil && !this.#closing) {
        await new Promise((r) => setTimeout(r, 5));
      }
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closing || err instanceof Deno.errors.BadResource) return;
        // Out of descriptors (EMFILE/ENFILE) or a connection reset before accept: wait, then accept again.
        this.#stats.acceptErrors++;
        const now = Date.now();
        this.#pressureUntil = now + 2_000;
        if (now - this.#lastAcceptLog > 10_000) {
          this.#lastAcceptLog = now;
          this.#o.log?.("warn", "accept failed; backing off", {
            error: err instanceof Error ? err.message : String(err),
            open: this.#all.size,
            acceptErrors: this.#stats.acceptErrors,
          });
        }
        this.#evictIdle(undefined);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 1_000);
        continue;
      }
      backoff = 5;
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.Conn): void {
    const address = (conn.remoteAddr as Deno.NetAddr).hostname;
    const mine = this.#byAddress.get(address);
    if ((mine?.size ?? 0) >= this.#o.maxPerAddress && !this.#evictIdle(mine)) return this.#refuse(conn);
    if (this.#all.size >= this.#o.maxConnections && !this.#evictIdle(undefined)) return this.#refuse(conn);
    // Each write is a whole answer or frame: send it at once rather than wait for the client's ACK of the last one.
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // already reset by the client
    }
    const t = new Tracked(conn, address, Date.now(), this.#o.headerTimeoutMs);
    this.#all.add(t);
    this.#stats.open = this.#all.size;
    let set = this.#byAddress.get(address);
    if (!set) this.#byAddress.set(address, set = new Set());
    set.add(t);
    this.#stats.accepted++;
    // Short of descriptors: each connection admitted sheds two silent ones, room for its relay's two descriptors.
    if (Date.now() < this.#pressureUntil) {
      this.#evictIdle(undefined, t);
      this.#evictIdle(undefined, t);
    }
    void this.#relay(t);
  }

  #refuse(conn: Deno.Conn): void {
    this.#stats.refused++;
    try {
      conn.close();
    } catch {
      // already gone
    }
  }

  /**
   * Closes the oldest connection (of `among`, or of all; older than `spare` if given) that has not completed a
   * request; false when none.
   */
  #evictIdle(among: Set<Tracked> | undefined, spare?: Tracked): boolean {
    for (const t of among ?? this.#all) { // sets iterate in insertion order: oldest first
      if (t === spare) return false; // only connections older than `spare`
      if (!t.served && !t.closed) {
        this.#stats.evicted++;
        this.#close(t);
        return true;
      }
    }
    return false;
  }

  #expire(): void {
    const now = Date.now();
    for (const t of this.#all) {
      if (t.closeBy !== 0 && now > t.closeBy) {
        this.#close(t);
        continue;
      }
      if (t.drainUntil !== 0) {
        if (now > t.drainUntil) this.#close(t);
        continue;
      }
      if (t.phase === "ws") continue;
      const late = t.phase === "headers" && (t.head.length > 0 || !t.served) && now > t.headerDeadline;
      const idle = t.phase === "headers" && t.head.length === 0 && t.served && !t.awaitingResponse &&
        now - t.lastActivity > this.#o.idleTimeoutMs;
      if (late || idle) {
        this.#stats.timedOut++;
        this.#close(t);
      }
    }
  }

  /** `t`'s relay reached the app (its first answer byte) or ended. */
  #started(t: Tracked): void {
    if (!t.starting) return;
    t.starting = false;
    this.#starting--;
  }

  #close(t: Tracked): void {
    this.#started(t);
    if (t.closed) return;
    t.closed = true;
    this.#all.delete(t);
    this.#stats.open = this.#all.size;
    const set = this.#byAddress.get(t.address);
    set?.delete(t);
    if (set?.size === 0) this.#byAddress.delete(t.address);
    for (const c of [t.conn, t.upstream]) {
      try {
        c?.close();
      } catch {
        // already closed
      }
    }
    if (t.upstream) this.#peers.delete((t.upstream.localAddr as Deno.NetAddr).port);
    if (t.relayPort !== 0) {
      this.#byRelay.delete(t.relayPort);
      let unsent = 0;
      for (const o of t.outq) unsent += o.counted ? o.bytes.length : 0;
      for (const b of t.held) unsent += b.length;
      Atomics.sub(this.#pending, t.relayPort, unsent);
    }
    for (const o of t.outq) settle(o);
    t.outq = [];
    t.held = [];
    t.heldKinds = [];
    for (const r of t.drained.splice(0)) r();
  }

  async #relay(t: Tracked): Promise<void> {
    const buf = new Uint8Array(16 * 1024);
    const pending: Uint8Array[] = [];
    try {
      for (;;) {
        const n = await t.conn.read(buf);
        if (n === null || t.closed) break;
        if (t.drainUntil !== 0) continue;
        const chunk = buf.slice(0, n);
        t.lastActivity = Date.now();
        this.#inspect(t, chunk);
        if (!t.upstream) {
          pending.push(chunk);
          // The app is reached only once a whole request head is here: idle sockets cost one descriptor.
          if (!t.served) continue;
          this.#starting++;
          t.starting = true;
          t.upstream = await this.#connectUp().catch((err) => {
            this.#started(t);
            throw err;
          });
          if (t.closed) break;
          t.relayPort = (t.upstream.localAddr as Deno.NetAddr).port;
          this.#peers.set(t.relayPort, t.conn.remoteAddr as Deno.NetAddr);
          this.#byRelay.set(t.relayPort, t);
          void this.#pumpDown(t, t.upstream);
          for (const p of pending.splice(0)) await writeAll(t.upstream, p);
          continue;
        }
        await writeAll(t.upstream, chunk).catch((err) => {
          if (t.drainUntil === 0) throw err; // the app closed while bytes were on their way: drop them
        });
      }
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#stats.badRequests++;
        this.#o.log?.("warn", "connection closed", { address: t.address, reason: err.message });
      }
    } finally {
      // Half-close upstream so a response in flight still reaches the client, then let the down pump close.
      if (t.drainUntil !== 0) this.#close(t);
      else if (t.upstream && !t.closed) {
        try {
          await t.upstream.closeWrite();
        } catch {
          this.#close(t);
        }
      } else this.#close(t);
    }
  }

  /** Opens a relay connection; out of descriptors, it sheds idle clients (the relay and the app's side need two). */
  async #connectUp(): Promise<Deno.Conn> {
    // Up to about 3 s: the accept loop (on this thread) and the app's server (restarting on another) take
    // descriptors as they free up too, and an app restarted on a new port is known here a message later.
    for (let attempt = 0;; attempt++) {
      try {
        return await Deno.connect(this.#o.upstream);
      } catch (err) {
        if (attempt >= 10) throw err;
        this.#evictIdle(undefined);
        this.#evictIdle(undefined);
        await new Promise((r) => setTimeout(r, Math.min(5 << attempt, 500)));
      }
    }
  }

  async #pumpDown(t: Tracked, up: Deno.Conn): Promise<void> {
    // Small to start: a WebSocket's frames and most answers fit, and a thousand sockets do not hold 64 KiB each. A
    // read that fills it (a long history answer) moves to the large size for the rest of the connection.
    let buf = new Uint8Array(DOWN_BUFFER_BYTES[0]);
    try {
      for (;;) {
        const n = await up.read(buf);
        if (n === null || t.closed) break;
        t.lastActivity = Date.now();
        t.awaitingResponse = false;
        this.#started(t);
        if (t.wsUpgrade && t.phase === "ws" && !t.wsConfirmed) {
          // Only a 101 turns the connection into a WebSocket; a refused upgrade goes back to HTTP rules.
          const status = new TextDecoder().decode(buf.subarray(0, Math.min(n, 12)));
          if (status.startsWith("HTTP/1.1 101")) t.wsConfirmed = true;
          else {
            t.wsUpgrade = false;
            t.phase = "headers";
            t.wsHeader = [];
            t.wsPayloadLeft = 0;
          }
        }
        if (t.closeBy !== 0) continue; // the client was sent a close frame: nothing follows it
        this.#down(t, buf.subarray(0, n));
        // The buffer is read into again only once the client took all of it.
        if (t.writing) await new Promise<void>((r) => t.drained.push(r));
        if (t.closed) break;
        if (n === buf.length && n < DOWN_BUFFER_BYTES[1]) buf = new Uint8Array(DOWN_BUFFER_BYTES[1]);
      }
    } catch {
      // either side went away
    }
    if (t.closed) return;
    // The app is done with this connection. Closing the client socket while it still has bytes for us unread would
    // send a reset and could destroy what the app said last (a WebSocket close frame, an error): send a FIN instead,
    // and read and drop what the client sends until it closes too, or briefly.
    t.drainUntil = Date.now() + 2_000;
    try {
      await t.conn.closeWrite();
    } catch {
      this.#close(t);
    }
  }

  /**
   * Queues the app's bytes for the client. On a WebSocket it follows the app's frames, and where one ends, the frames
   * handed over in the meantime go in between.
   */
  #down(t: Tracked, chunk: Uint8Array): void {
    if (!t.wsConfirmed) return this.#enqueue(t, chunk, false);
    let from = 0;
    let i = 0;
    const boundary = () => {
      if (t.held.length === 0) return;
      if (i > from) this.#enqueue(t, chunk.subarray(from, i), false);
      from = i;
      this.#release(t);
    };
    while (i < chunk.length) {
      if (t.downHead) {
        const b = chunk[i++]!;
        t.downCrlf = b === HEAD_END[t.downCrlf] ? t.downCrlf + 1 : b === 13 ? 1 : 0;
        if (t.downCrlf === 4) {
          t.downHead = false;
          boundary();
        }
        continue;
      }
      if (t.downPayloadLeft > 0) {
        const take = Math.min(t.downPayloadLeft, chunk.length - i);
        t.downPayloadLeft -= take;
        i += take;
        if (t.downPayloadLeft === 0) boundary();
        continue;
      }
      const h = t.downHeader;
      h.push(chunk[i++]!);
      if (h.length < 2) continue;
      const len7 = h[1]! & 0x7f;
      if (h.length < 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1]! & 0x80) !== 0 ? 4 : 0)) continue;
      let len = len7;
      if (len7 === 126) len = (h[2]! << 8) | h[3]!;
      else if (len7 === 127) {
        len = 0;
        for (let k = 2; k < 10; k++) len = len * 256 + h[k]!;
      }
      if ((h[0]! & 0x0f) === 0x8) t.appClosing = true;
      t.downHeader = [];
      t.downPayloadLeft = len;
      if (len === 0) boundary();
    }
    if (from < chunk.length) this.#enqueue(t, chunk.subarray(from), false);
  }

  /** Between two of the app's own frames (or after the 101): frames handed over so far go to the client. */
  #atBoundary(t: Tracked): boolean {
    return t.wsConfirmed && !t.downHead && t.downHeader.length === 0 && t.downPayloadLeft === 0;
  }

  #release(t: Tracked): void {
    const frames = t.held;
    const kinds = t.heldKinds;
    t.held = [];
    t.heldKinds = [];
    for (let k = 0; k < frames.length; k++) {
      const f = frames[k]!;
      if (t.closeBy !== 0 || t.appClosing) {
        Atomics.sub(this.#pending, t.relayPort, f.length);
        continue;
      }
      this.#enqueue(t, f, true);
      if (kinds[k] === FRAME_CLOSE) t.closeBy = Date.now() + CLOSE_ANSWER_MS;
    }
  }

  /**
   * Frames the app's thread encoded ({@link FrameChannel}): each goes to its relay's client, between two of the app's
   * own frames. Frames for connections gone, or past a close frame, are dropped (and taken off the pending count).
   *
   * Resolves once all but a hundredth of these frames are written, or once no write to any client has finished for
   * {@link WRITES_STALLED_MS} (the rest wait on clients that stopped reading), or after {@link BATCH_WAIT_MS}. So
   * clients that stop reading hold up nobody for long (the hub sees their unsent bytes and holds their quotes back),
   * while a thread that is merely busy, writing slower than the app encodes, paces the app: its next flush waits for
   * this, and frames never queue up here. (A fixed wait did let them queue: at 5,000 clients on two cores the writes
   * of one flush took longer than it, and every flush after it added to each client's queue.)
   */
  inject(bytes: Uint8Array, index: Uint32Array): Promise<void> {
    let done!: () => void;
    const written = new Promise<void>((r) => done = r);
    const batch: Batch = { left: 1, stragglers: 0, done };
    this.#batch = batch;
    try {
      this.#injectAll(bytes, index);
    } finally {
      this.#batch = undefined;
    }
    batch.stragglers = Math.floor((batch.left - 1) / 100);
    if (--batch.left <= batch.stragglers) return Promise.resolve();
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout>;
    const check = () => {
      const now = performance.now();
      const idle = now - Math.max(this.#lastWrite, started);
      if (idle >= WRITES_STALLED_MS || now - started >= BATCH_WAIT_MS) done();
      else timer = setTimeout(check, WRITES_STALLED_MS - idle);
    };
    timer = setTimeout(check, WRITES_STALLED_MS);
    return written.then(() => clearTimeout(timer));
  }

  #injectAll(bytes: Uint8Array, index: Uint32Array): void {
    for (let k = 0; k < index.length; k += ENTRY_WORDS) {
      const port = index[k]!;
      const frame = bytes.subarray(index[k + 1]!, index[k + 2]!);
      const t = this.#byRelay.get(port);
      if (!t || t.closed || t.closeBy !== 0 || t.appClosing || t.drainUntil !== 0) {
        Atomics.sub(this.#pending, port, frame.length);
        continue;
      }
      t.held.push(frame);
      t.heldKinds.push(index[k + 3]!);
      if (this.#atBoundary(t)) this.#release(t);
    }
  }

  #enqueue(t: Tracked, bytes: Uint8Array, counted: boolean): void {
    if (t.closed) {
      if (counted) Atomics.sub(this.#pending, t.relayPort, bytes.length);
      return;
    }
    const batch = counted ? this.#batch : undefined;
    if (batch) batch.left++;
    t.outq.push({ bytes, counted, batch });
    if (!t.writing) void this.#writeOut(t);
  }

  /** Writes `t`'s queue to the client, one chunk after another. */
  async #writeOut(t: Tracked): Promise<void> {
    t.writing = true;
    try {
      while (t.outq.length > 0 && !t.closed) {
        const o = t.outq[0]!;
        await writeAll(t.conn, o.bytes);
        this.#lastWrite = performance.now();
        if (t.closed) break;
        t.outq.shift();
        if (o.counted) Atomics.sub(this.#pending, t.relayPort, o.bytes.length);
        settle(o);
      }
    } catch {
      this.#close(t); // the client went away
    } finally {
      t.writing = false;
      for (const r of t.drained.splice(0)) r();
    }
  }

  /** Follows the client's bytes: request heads, bodies, then WebSocket frames. Throws ProtocolError to close. */
  #inspect(t: Tracked, chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      switch (t.phase) {
        case "headers": {
          if (t.head.length === 0 && t.served) t.headerDeadline = Date.now() + this.#o.headerTimeoutMs;
          const b = chunk[i++]!;
          t.head.push(b);
          if (t.head.length > this.#o.maxHeaderBytes) throw new ProtocolError("request headers too large");
          const h = t.head;
          const L = h.length;
          if (L >= 4 && h[L - 1] === 10 && h[L - 2] === 13 && h[L - 3] === 10 && h[L - 4] === 13) this.#onHead(t);
          else if (L === 2 && h[0] === 13 && h[1] === 10) t.head = []; // a stray CRLF between requests
          break;
        }
        case "body": {
          const take = Math.min(t.remaining, chunk.length - i);
          t.remaining -= take;
          i += take;
          if (t.remaining === 0) t.phase = "headers";
          break;
        }
        case "chunk-size": {
          const b = chunk[i++]!;
          if (b === 10) {
            const size = parseInt(t.chunkLine.trim().split(";")[0]!, 16);
            if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(t.chunkLine.trim())) {
              throw new ProtocolError("bad chunk size");
            }
            t.chunkLine = "";
            if (size === 0) t.phase = "trailers";
            else {
              t.remaining = size;
              t.phase = "chunk-data";
            }
          } else if (b !== 13) {
            t.chunkLine += String.fromCharCode(b);
            if (t.chunkLine.length > 1024) throw new ProtocolError("bad chunk size");
          }
          break;
        }
        case "chunk-data": {
          const take = Math.min(t.remaining, chunk.length - i);
          t.remaining -= take;
          i += take;
          if (t.remaining === 0) {
            t.phase = "chunk-crlf";
            t.remaining = 2;
          }
          break;
        }
        case "chunk-crlf": {
          i++;
          if (--t.remaining === 0) t.phase = "chunk-size";
          break;
        }
        case "trailers": {
          const b = chunk[i++]!;
          if (b === 10) {
            const empty = t.trailerLine === "";
            t.trailerLine = "";
            if (empty) t.phase = "headers";
          } else if (b !== 13) {
            t.trailerLine += String.fromCharCode(b);
            if (t.trailerLine.length > 8192) throw new ProtocolError("trailers too large");
          }
          break;
        }
        case "ws":
          i = this.#wsFrames(t, chunk, i);
          break;
      }
    }
  }

  #onHead(t: Tracked): void {
    const text = new TextDecoder().decode(new Uint8Array(t.head));
    t.head = [];
    t.served = true;
    t.awaitingResponse = true;
    const lines = text.split("\r\n");
    if (!/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(lines[0] ?? "")) throw new ProtocolError("not an HTTP/1.x request");
    let length: number | undefined;
    let chunked = false;
    let upgrade = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) {
          throw new ProtocolError("bad Content-Length");
        }
        length = Number(value);
      } else if (name === "transfer-encoding") chunked = /(^|,)\s*chunked\s*$/i.test(value);
      else if (name === "upgrade" && /\bwebsocket\b/i.test(value)) upgrade = true;
    }
    if (chunked && length !== undefined) throw new ProtocolError("both Content-Length and chunked");
    if (upgrade) {
      t.wsUpgrade = true;
      t.phase = "ws";
    } else if (chunked) t.phase = "chunk-size";
    else if (length) {
      t.remaining = length;
      t.phase = "body";
    }
  }

  /** Reads WebSocket frame headers from `chunk` at `i`, skipping payloads; returns where it stopped. */
  #wsFrames(t: Tracked, chunk: Uint8Array, i: number): number {
    while (i < chunk.length) {
      if (t.wsPayloadLeft > 0) {
        const take = Math.min(t.wsPayloadLeft, chunk.length - i);
        t.wsPayloadLeft -= take;
        i += take;
        continue;
      }
      t.wsHeader.push(chunk[i++]!);
      const h = t.wsHeader;
      if (h.length < 2) continue;
      const len7 = h[1]! & 0x7f;
      const masked = (h[1]! & 0x80) !== 0;
      const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const need = 2 + extra + (masked ? 4 : 0);
      if (h.length < need) continue;
      let len = len7;
      if (len7 === 126) len = (h[2]! << 8) | h[3]!;
      else if (len7 === 127) {
        len = 0;
        for (let k = 2; k < 10; k++) len = len * 256 + h[k]!;
      }
      const opcode = h[0]! & 0x0f;
      const fin = (h[0]! & 0x80) !== 0;
      t.wsHeader = [];
      if (opcode >= 8) {
        if (len > 125) throw new ProtocolError("WebSocket control frame too large");
      } else {
        // A new data frame starts a message; a continuation adds to it.
        t.wsMessageBytes = opcode === 0 ? t.wsMessageBytes + len : len;
        if (t.wsMessageBytes > this.#o.maxWsMessageBytes) {
          this.#stats.oversizeWsMessages++;
          throw new ProtocolError(`WebSocket message over ${this.#o.maxWsMessageBytes} bytes`);
        }
        if (fin) t.wsMessageBytes = 0;
      }
      t.wsPayloadLeft = len;
    }
    return i;
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#sweep);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#loop;
    for (const t of [...this.#all]) this.#close(t);
  }
}

/** A server behind a {@link ConnGuard}. */
export interface GuardedServer {
  /** The public address. */
  readonly addr: Deno.NetAddr;
  stats(): ConnGuardStats;
  /** Stops accepting, closes client connections, finishes the app's requests in flight. */
  shutdown(): Promise<void>;
}

/** Bytes per slot of a {@link SharedPeerTable}: a sequence word, the address's length, its text, its port. */
const PEER_SLOT = 64;
const PEER_TEXT = 52;

/**
 * A {@link PeerTable} in shared memory: one slot per local port, so the guard's thread writes a client's address
 * before it relays the first byte, and the app's thread reads it when the request arrives, with no message between
 * them. Each slot has a sequence word (odd while being written) that a reader checks before and after it reads.
 */
export class SharedPeerTable implements PeerTable {
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;

  constructor(readonly buffer = new SharedArrayBuffer(65_536 * PEER_SLOT)) {
    this.#words = new Int32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
  }

  get(port: number): Deno.NetAddr | undefined {
    const w = port * (PEER_SLOT / 4);
    const at = port * PEER_SLOT;
    for (;;) {
      const seq = Atomics.load(this.#words, w);
      if (seq & 1) continue; // being written: the writer is a few stores from done
      const len = this.#bytes[at + 4]!;
      const hostname = len === 0 ? "" : String.fromCharCode(...this.#bytes.subarray(at + 5, at + 5 + len));
      const peerPort = this.#bytes[at + 5 + PEER_TEXT]! << 8 | this.#bytes[at + 6 + PEER_TEXT]!;
      if (Atomics.load(this.#words, w) !== seq) continue;
      return len === 0 ? undefined : { transport: "tcp", hostname, port: peerPort };
    }
  }

  set(port: number, addr: Deno.NetAddr): void {
    this.#write(port, addr.hostname.slice(0, PEER_TEXT), addr.port);
  }

  delete(port: number): void {
    this.#write(port, "", 0);
  }

  #write(port: number, hostname: string, peerPort: number): void {
    const w = port * (PEER_SLOT / 4);
    const at = port * PEER_SLOT;
    Atomics.add(this.#words, w, 1);
    this.#bytes[at + 4] = hostname.length;
    for (let i = 0; i < hostname.length; i++) this.#bytes[at + 5 + i] = hostname.charCodeAt(i);
    this.#bytes[at + 5 + PEER_TEXT] = peerPort >> 8;
    this.#bytes[at + 6 + PEER_TEXT] = peerPort & 0xff;
    Atomics.add(this.#words, w, 1);
  }
}

/** {@link ConnGuardStats} kept in `buffer`, so the guard's thread counts and the app's thread reports the same. */
export function sharedStats(buffer: SharedArrayBuffer): ConnGuardStats {
  const words = new Uint32Array(buffer);
  const stats = {} as ConnGuardStats;
  STAT_KEYS.forEach((k, i) =>
    Object.defineProperty(stats, k, {
      enumerable: true,
      get: () => Atomics.load(words, i),
      set: (v: number) => Atomics.store(words, i, v),
    })
  );
  return stats;
}

/** Bytes of the buffer {@link sharedStats} takes. */
export const SHARED_STATS_BYTES = STAT_KEYS.length * 4;

/** What the guard's thread is started with (routes/conn_guard_worker.ts). */
export interface GuardThreadInit {
  options: Omit<ConnGuardOptions, "log" | "peers" | "stats" | "pendingFrames">;
  peers: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** The {@link FrameChannel}'s pending bytes by relay port. */
  pending: SharedArrayBuffer;
}

/** What the guard's thread reports. */
export type GuardThreadMessage =
  | { type: "listening"; addr: Deno.NetAddr }
  | { type: "failed"; message: string }
  | { type: "log"; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  /** The frames of message `seq` are written (see {@link ConnGuard.inject}). */
  | { type: "taken"; seq: number }
  | { type: "closed" };

/** A {@link ConnGuard} running in a worker thread of its own. */
class GuardThread {
  /** Resolves the pending {@link GuardThread.close}. */
  onClosed: () => void = () => {};

  private constructor(readonly worker: Worker, readonly addr: Deno.NetAddr) {}

  /** Starts the thread; resolves once it listens, rejects when it cannot (the port is taken, ...). */
  static start(
    init: GuardThreadInit,
    log: ConnGuardOptions["log"],
    onTaken: (seq: number) => void,
    onCrash: () => void,
  ): Promise<GuardThread> {
    const worker = new Worker(new URL("./conn_guard_worker.ts", import.meta.url), { type: "module" });
    return new Promise((resolve, reject) => {
      let thread = undefined as GuardThread | undefined;
      worker.onmessage = (e: MessageEvent<GuardThreadMessage>) => {
        const m = e.data;
        if (m.type === "listening") resolve(thread = new GuardThread(worker, m.addr));
        else if (m.type === "failed") {
          worker.terminate();
          reject(new Error(m.message));
        } else if (m.type === "taken") onTaken(m.seq);
        else if (m.type === "log") log?.(m.level, m.msg, m.fields);
        else if (m.type === "closed") thread?.onClosed();
      };
      worker.onerror = (e) => {
        // An error the guard did not catch ends its thread, not the process: the server starts a new one.
        e.preventDefault();
        log?.("error", "connection guard thread failed; starting it again", { error: e.message });
        worker.terminate();
        if (thread) onCrash();
        else reject(new Error(e.message));
      };
      worker.postMessage(init);
    });
  }

  setUpstream(upstream: { hostname: string; port: number }): void {
    this.worker.postMessage({ type: "upstream", upstream });
  }

  readonly post = (m: FramesMessage, transfer: Transferable[]): void => this.worker.postMessage(m, transfer);

  /** Closes every connection and ends the thread. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.onClosed = r);
    this.worker.postMessage({ type: "close" });
    await closed;
    this.worker.terminate();
  }
}

/**
 * Serves `handler` behind a {@link ConnGuard} running in a worker thread: the relay's reads and writes use another
 * core instead of the event loop that runs the app and its fan-out, and so do the writes of the fan-out's frames,
 * which the app hands over through a {@link FrameChannel} instead of sending them through the relay. The app's
 * `Deno.serve` listens on loopback, and is started again if it ever stops on an error (its accept loop ends when
 * descriptors run out), so the process keeps serving. `handler` gets the client's
 * address, not the relay's, from a table the two threads share, and `outlet`, which turns a WebSocket it upgraded
 * into one whose frames the guard's thread writes ({@link FrameChannel}).
 */
export async function serveGuarded(
  handler: (
    req: Request,
    remote: Deno.NetAddr,
    outlet: (socket: WebSocket) => WsOutlet,
  ) => Response | Promise<Response>,
  options: Omit<ConnGuardOptions, "upstream" | "peers" | "stats" | "pendingFrames">,
): Promise<GuardedServer> {
  let stopping = false;
  const peers = new SharedPeerTable();
  const frames = new FrameChannel(undefined);
  const statsBuffer = new SharedArrayBuffer(SHARED_STATS_BYTES);
  const stats = sharedStats(statsBuffer);
  let current: Deno.HttpServer<Deno.NetAddr>;
  let thread: GuardThread;
  const { log, ...plain } = options;
  const open = (): Deno.HttpServer<Deno.NetAddr> => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req, info) => {
        const relay = info.remoteAddr; // read now: once a request is upgraded, its info no longer answers
        return handler(req, peers.get(relay.port) ?? relay, (socket) => frames.outlet(relay.port, socket));
      },
    );
    server.finished.catch((err) => {
      if (stopping) return;
      log?.("error", "HTTP server stopped; starting it again", { error: String(err) });
      restart(10);
    });
    return server;
  };
  const restart = (delayMs: number) => {
    setTimeout(() => {
      if (stopping) return;
      try {
        current = open();
        thread.setUpstream({ hostname: "127.0.0.1", port: current.addr.port });
      } catch {
        restart(Math.min(delayMs * 2, 1_000)); // still out of descriptors
      }
    }, delayMs);
  };
  const startThread = async (port: number): Promise<GuardThread> => {
    const init: GuardThreadInit = {
      options: { ...plain, port, upstream: { hostname: "127.0.0.1", port: current.addr.port } },
      peers: peers.buffer,
      stats: statsBuffer,
      pending: frames.pendingBuffer,
    };
    const started = await GuardThread.start(init, log, (seq) => frames.acked(seq), () => {
      frames.restarted(undefined);
      restartThread(thread.addr.port, 10);
    });
    frames.restarted(started.post);
    return started;
  };
  // The ended thread's listener may take a moment to close: listening again on its port is retried, with backoff.
  const restartThread = (port: number, delayMs: number) => {
    setTimeout(() => {
      if (stopping) return;
      startThread(port).then((t) => thread = t, (err) => {
        log?.("error", "connection guard could not start again; retrying", { error: String(err), port });
        restartThread(port, Math.min(delayMs * 2, 1_000));
      });
    }, delayMs);
  };
  current = open();
  try {
    thread = await startThread(options.port);
  } catch (err) {
    await current.shutdown();
    throw err;
  }
  return {
    get addr() {
      return thread.addr;
    },
    stats: () => ({ ...stats }),
    async shutdown() {
      stopping = true;
      await thread.close();
      await current.shutdown().catch(() => {});
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

type Libc = {
  getrlimit: (resource: number, out: Uint8Array) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
};
let libc: Libc | null | undefined;

/**
 * libc through FFI, for the two facts Deno has no API for: the open-file limit and which descriptors are open
 * (`/proc/self` needs --allow-all under Deno). Null without --allow-ffi or off Linux.
 */
function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const lib = Deno.dlopen("libc.so.6", {
      getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
      fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    });
    libc = lib.symbols as unknown as Libc;
  } catch {
    libc = null;
  }
  return libc;
}

const RLIMIT_NOFILE = 7;
const F_GETFD = 1;

/** The soft limit on open files of this process (getrlimit); undefined where it cannot be read or is unlimited. */
export function openFileLimit(): number | undefined {
  const c = openLibc();
  if (!c) return undefined;
  const out = new Uint8Array(16);
  if (c.getrlimit(RLIMIT_NOFILE, out) !== 0) return undefined;
  const cur = new DataView(out.buffer).getBigUint64(0, true);
  return cur > 10_000_000n ? undefined : Number(cur);
}

/** Open file descriptors of this process (probed with fcntl up to the limit), or undefined. */
export function openFileCount(): number | undefined {
  const c = openLibc();
  const limit = openFileLimit();
  if (!c || limit === undefined) return undefined;
  let n = 0;
  for (let fd = 0; fd < Math.min(limit, 1 << 20); fd++) if (c.fcntl(fd, F_GETFD, 0) !== -1) n++;
  return n;
}

/**
 * The default connection cap: each relayed connection holds three descriptors (client, relay, the app's side), and
 * 160 are kept for the store (whose merges open files as they run), KV, logs, outbound calls and the guard's own
 * thread (its event loop holds a few).
 */
export function defaultMaxConnections(limit = openFileLimit()): number {
  if (limit === undefined) return 10_000;
  return Math.max(16, Math.min(10_000, Math.floor((limit - 160) / 3)));
}
