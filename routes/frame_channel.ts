/**
 * WebSocket frames the app's thread hands to the connection guard's thread, which writes them to the client sockets
 * itself.
 *
 * Behind the guard, each frame the app sent on its `WebSocket` crossed three sockets: the app wrote it to the relay,
 * the guard read it and wrote it to the client, each a system call and, on loopback, the kernel's receive work too.
 * For the fan-out, a frame per client per flush, that was most of the process's time. Instead the app encodes each
 * frame (header and payload, as RFC 6455 puts it on the wire) into one buffer per turn of its event loop and
 * transfers the buffer to the guard's thread, which writes each frame to its client: one system call per frame, on
 * another core. The `WebSocket` the app upgraded stays the connection's end for everything else: the client's
 * messages, pings and pongs, the close handshake.
 *
 * The guard puts a frame between two of the app's own frames, never inside one, and only after the upgrade's 101
 * went out; see `ConnGuard.inject` in routes/conn_guard.ts.
 */

/** One frame in a {@link FramesMessage}: relay port, start and end in `bytes`, and its kind. */
export const ENTRY_WORDS = 4;
/** Kinds of a frame: data, or the close frame after which the guard writes nothing more to that client. */
export const FRAME_DATA = 0;
export const FRAME_CLOSE = 1;

/** What the app's thread posts to the guard's thread. */
export interface FramesMessage {
  type: "frames";
  seq: number;
  bytes: ArrayBuffer;
  /** {@link ENTRY_WORDS} words per frame. */
  index: ArrayBuffer;
}

/** Bytes handed to the guard and not written yet, by relay port: one word per port. */
export const PENDING_BYTES = 65_536 * 4;

/** Where frames for the guard are posted (its worker, or a guard on the same thread in tests). */
export type FramePost = (message: FramesMessage, transfer: Transferable[]) => void;

/** The part of a WebSocket the hub writes to (routes/ws.ts): a plain `WebSocket`, or one written by the guard. */
export interface WsOutlet {
  send(frame: string): void;
  close(code: number, reason: string): void;
  /** Bytes sent and not yet written to the client's socket. */
  readonly bufferedAmount: number;
  readonly open: boolean;
  /** Resolves once what was sent so far has been taken by the thread that writes it (absent: written at once). */
  settled?: () => Promise<void>;
}

/** A plain `WebSocket` as a {@link WsOutlet}. */
export function socketOutlet(socket: WebSocket): WsOutlet {
  return {
    send: (frame) => socket.send(frame),
    close: (code, reason) => socket.close(code, reason),
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    get open() {
      return socket.readyState === WebSocket.OPEN;
    },
  };
}

const HEADER_ROOM = 10;
const MIN_BUFFER = 64 * 1024;
/** Frames per message at most. */
const POST_FRAMES = 128;
const encoder = new TextEncoder();

/**
 * The app's side: encodes frames into a buffer and posts it to the guard's thread once per turn of the event loop
 * (a flush's slice, or one alert), counting the bytes in flight per relay port so a client's `bufferedAmount`
 * includes what the guard has not written yet.
 */
export class FrameChannel {
  readonly pending: Int32Array;
  #post: FramePost | undefined;
  #buf = new Uint8Array(MIN_BUFFER);
  #at = 0;
  #index: number[] = [];
  #scheduled = false;
  #seq = 0;
  /** Every message up to this one has been taken by the guard. */
  #acked = 0;
  /** Messages taken past a gap: the guard finishes messages out of order (a later one's writes may end first). */
  #takenAhead = new Set<number>();
  #waiters: { seq: number; resolve: () => void }[] = [];
  /** Bytes of the largest post lately: the next buffer starts that big, so a flush's slice rarely grows one. */
  #size = MIN_BUFFER;

  constructor(post: FramePost | undefined, readonly pendingBuffer = new SharedArrayBuffer(PENDING_BYTES)) {
    this.#post = post;
    this.pending = new Int32Array(pendingBuffer);
  }

  /** A {@link WsOutlet} for the socket the app upgraded over the relay from local port `port`. */
  outlet(port: number, socket: WebSocket): WsOutlet {
    const pending = this.pending;
    return {
      send: (frame) => this.#append(port, 0x1, frame, FRAME_DATA),
      // The close frame follows the frames already handed over; the client's answer comes back through the app's
      // socket, which then closes. The app's own socket sends nothing more the guard would pass on.
      close: (code, reason) => this.#append(port, 0x8, reason, FRAME_CLOSE, code),
      get bufferedAmount() {
        return socket.bufferedAmount + Atomics.load(pending, port);
      },
      get open() {
        return socket.readyState === WebSocket.OPEN;
      },
      settled: this.settled,
    };
  }

  /** Resolves once the guard wrote the frames appended so far (all but a few stragglers; see `ConnGuard.inject`). */
  readonly settled = (): Promise<void> => {
    if (this.#index.length === 0 && this.#acked === this.#seq) return Promise.resolve();
    if (this.#index.length > 0) this.#send();
    if (this.#acked >= this.#seq) return Promise.resolve(); // dropped at once: no thread to write them
    const seq = this.#seq;
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  };

  /** The guard took message `seq` (wrote its frames, or gave up on a few stalled ones). */
  acked(seq: number): void {
    if (seq <= this.#acked) return;
    // Counted in order: a flush that waits for its last message must also wait for the ones before it, which the
    // guard may still be writing when the last one is done (more than half the messages at 5,000 clients).
    this.#takenAhead.add(seq);
    while (this.#takenAhead.delete(this.#acked + 1)) this.#acked++;
    this.#wake();
  }

  /** Resolves the flushes waiting for messages up to {@link acked}. */
  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => w.seq > this.#acked || (w.resolve(), false));
  }

  /**
   * The guard's thread ended (`post` undefined: frames are dropped until another starts) or another took its place
   * (frames go to `post`). Either way the connections it held are gone, and so are their frames.
   */
  restarted(post: FramePost | undefined): void {
    this.#post = post;
    // Frames not posted yet were for the connections that went with the ended thread too.
    this.#index = [];
    this.#at = 0;
    this.pending.fill(0);
    this.#takenAhead.clear();
    this.#acked = this.#seq;
    this.#wake();
  }

  /**
   * Encodes `text` as a frame's payload, after a close frame's 2-byte `code` if given. A close frame's reason is cut
   * to the 125 bytes a control frame may carry (never inside a character).
   */
  #append(port: number, opcode: number, text: string, kind: number, code?: number): void {
    this.#reserve(HEADER_ROOM + 2 + text.length * 3);
    const start = this.#at + HEADER_ROOM;
    let at = start;
    if (code !== undefined) {
      this.#buf[at++] = code >> 8;
      this.#buf[at++] = code & 0xff;
    }
    const room = code === undefined ? this.#buf.subarray(at) : this.#buf.subarray(at, start + 125);
    const { written } = encoder.encodeInto(text, room);
    this.#frame(port, opcode, start, at - start + written, kind);
  }

  /** Writes the header of the payload at `start` (unmasked, FIN set, as a server sends) right before it. */
  #frame(port: number, opcode: number, start: number, length: number, kind: number): void {
    const b = this.#buf;
    let h: number;
    if (length < 126) {
      h = start - 2;
      b[h + 1] = length;
    } else if (length < 65_536) {
      h = start - 4;
      b[h + 1] = 126;
      b[h + 2] = length >> 8;
      b[h + 3] = length & 0xff;
    } else {
      h = start - 10;
      b[h + 1] = 127;
      let n = length;
      for (let k = 9; k >= 2; k--) {
        b[h + k] = n % 256;
        n = Math.floor(n / 256);
      }
    }
    b[h] = 0x80 | opcode;
    const end = start + length;
    this.#index.push(port, h, end, kind);
    Atomics.add(this.pending, port, end - h);
    this.#at = end;
    // A long run of frames (a flush's slice) goes over in parts, so the guard writes the first while this thread
    // encodes the next.
    if (this.#index.length >= POST_FRAMES * ENTRY_WORDS) return this.#send();
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#send();
      });
    }
  }

  /** Room for `bytes` more: a bigger buffer, with what is in this one copied over. */
  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(this.#buf.length * 2, this.#at + bytes));
    bigger.set(this.#buf.subarray(0, this.#at));
    this.#buf = bigger;
  }

  #send(): void {
    if (this.#index.length === 0) return;
    const bytes = this.#buf.buffer as ArrayBuffer;
    const index = new Uint32Array(this.#index).buffer;
    this.#size = Math.max(MIN_BUFFER, Math.ceil((this.#size + this.#at * 1.25) / 2));
    this.#buf = new Uint8Array(this.#size);
    this.#at = 0;
    this.#index = [];
    const seq = ++this.#seq;
    if (this.#post) return this.#post({ type: "frames", seq, bytes, index }, [bytes, index]);
    // No guard thread right now: the connections these were for went with the last one.
    const words = new Uint32Array(index);
    for (let k = 0; k < words.length; k += ENTRY_WORDS) {
      Atomics.sub(this.pending, words[k]!, words[k + 2]! - words[k + 1]!);
    }
    this.acked(seq);
  }
}
