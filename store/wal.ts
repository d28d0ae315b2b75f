import { join } from "node:path";

/** A place in the log: segment number and byte offset inside it. */
export interface WalPosition {
  segment: number;
  offset: number;
}

/** A run of whole lines read back from the log. */
export interface WalBatch {
  start: WalPosition;
  end: WalPosition;
  lines: number;
  /** The lines, newline-terminated, as stored. */
  payload: Uint8Array;
}

/** Options of {@link Wal.open}. */
export interface WalOptions {
  /** A segment is closed and a new one started past this size (default 64 MiB). */
  segmentBytes?: number;
}

const NL = 10;
const SEGMENT = /^(\d{12})\.wal$/;
const name = (segment: number) => `${String(segment).padStart(12, "0")}.wal`;

/**
 * Append-only log of newline-terminated records in numbered segment files.
 *
 * {@link append} only buffers; {@link sync} writes the buffer and fsyncs it, and a record is durable once the sync
 * that covers it resolves. On open, a torn last line (a crash mid-write) is cut off: it was never synced, so it was
 * never durable.
 *
 * @example
 * ```ts
 * const wal = await Wal.open("./data/wal");
 * wal.append(new TextEncoder().encode('{"symbol":"AAPL"}\n'));
 * await wal.sync(); // durable from here
 * const batch = await wal.read({ segment: 0, offset: 0 }, 1_000);
 * await wal.close();
 * ```
 */
export class Wal {
  #dir: string;
  #segmentBytes: number;
  #file: Deno.FsFile;
  #segment: number;
  #size: number;
  #buffer: Uint8Array[] = [];
  #buffered = 0;
  #syncing: Promise<void> | undefined;
  #closed = false;

  private constructor(dir: string, segmentBytes: number, file: Deno.FsFile, segment: number, size: number) {
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#file = file;
    this.#segment = segment;
    this.#size = size;
  }

  /** Opens (or creates) the log in `dir`, repairing a torn tail. */
  static async open(dir: string, options: WalOptions = {}): Promise<Wal> {
    await Deno.mkdir(dir, { recursive: true });
    const segments = await listSegments(dir);
    const segment = segments.at(-1) ?? 0;
    const path = join(dir, name(segment));
    const file = await Deno.open(path, { create: true, read: true, write: true });
    let size = (await file.stat()).size;
    if (size > 0) {
      const tail = await readRange(file, Math.max(0, size - 1), size);
      if (tail[0] !== NL) {
        const whole = await readRange(file, 0, size);
        const cut = whole.lastIndexOf(NL) + 1;
        await file.truncate(cut);
        await file.syncData();
        size = cut;
      }
    }
    await file.seek(size, Deno.SeekMode.Start);
    return new Wal(dir, options.segmentBytes ?? 64 * 1024 * 1024, file, segment, size);
  }

  /** Directory of the log. */
  get dir(): string {
    return this.#dir;
  }

  /** Bytes appended but not yet synced. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** End of what is durable on disk. */
  get end(): WalPosition {
    return { segment: this.#segment, offset: this.#size };
  }

  /** Buffers newline-terminated records; durable only after the next {@link sync}. */
  append(records: Uint8Array): void {
    if (this.#closed) throw new Error("write-ahead log is closed");
    if (records.length === 0) return;
    if (records[records.length - 1] !== NL) throw new Error("write-ahead log records must end with a newline");
    this.#buffer.push(records);
    this.#buffered += records.length;
  }

  /** Writes and fsyncs everything appended so far. Concurrent calls share one sync. */
  sync(): Promise<void> {
    const run = async (): Promise<void> => {
      while (this.#buffer.length > 0) {
        const chunks = this.#buffer;
        const bytes = this.#buffered;
        this.#buffer = [];
        this.#buffered = 0;
        if (this.#size > 0 && this.#size + bytes > this.#segmentBytes) await this.#rotate();
        const joined = concat(chunks, bytes);
        let written = 0;
        while (written < joined.length) written += await this.#file.write(joined.subarray(written));
        await this.#file.syncData();
        this.#size += bytes;
      }
    };
    const previous = this.#syncing ?? Promise.resolve();
    const next = previous.then(run);
    this.#syncing = next.finally(() => {
      if (this.#syncing === next) this.#syncing = undefined;
    });
    return next;
  }

  async #rotate(): Promise<void> {
    this.#file.close();
    this.#segment++;
    this.#file = await Deno.open(join(this.#dir, name(this.#segment)), { create: true, write: true, read: true });
    this.#size = 0;
    // Make the new file's directory entry durable too.
    const d = await Deno.open(this.#dir, { read: true });
    try {
      await d.syncData();
    } finally {
      d.close();
    }
  }

  /**
   * Reads up to `maxLines` whole lines (and at most `maxBytes`) from `from`, never past the durable end, staying
   * within one segment. Returns null when there is nothing after `from`. A position at the end of a closed segment
   * moves on to the next.
   */
  async read(from: WalPosition, maxLines: number, maxBytes = 64 * 1024 * 1024): Promise<WalBatch | null> {
    let pos = from;
    for (;;) {
      const end = pos.segment === this.#segment ? this.#size : await segmentSize(this.#dir, pos.segment);
      if (end === undefined) {
        if (pos.segment >= this.#segment) return null;
        pos = { segment: pos.segment + 1, offset: 0 };
        continue;
      }
      if (pos.offset >= end) {
        if (pos.segment >= this.#segment) return null;
        pos = { segment: pos.segment + 1, offset: 0 };
        continue;
      }
      const file = await Deno.open(join(this.#dir, name(pos.segment)), { read: true });
      try {
        const chunk = await readRange(file, pos.offset, Math.min(end, pos.offset + maxBytes));
        let lines = 0;
        let cut = 0;
        for (let i = chunk.indexOf(NL); i !== -1 && lines < maxLines; i = chunk.indexOf(NL, i + 1)) {
          lines++;
          cut = i + 1;
        }
        if (lines === 0) {
          throw new Error(`write-ahead log line at ${name(pos.segment)}:${pos.offset} exceeds ${maxBytes} bytes`);
        }
        return {
          start: pos,
          end: { segment: pos.segment, offset: pos.offset + cut },
          lines,
          payload: chunk.subarray(0, cut),
        };
      } finally {
        file.close();
      }
    }
  }

  /** Deletes every segment before `segment` (their records are stored). */
  async removeBefore(segment: number): Promise<void> {
    for (const s of await listSegments(this.#dir)) {
      if (s < segment) await Deno.remove(join(this.#dir, name(s)));
    }
  }

  /** Bytes on disk from `from` to the durable end. */
  async backlogBytes(from: WalPosition): Promise<number> {
    let total = 0;
    for (const s of await listSegments(this.#dir)) {
      if (s < from.segment) continue;
      const size = s === this.#segment ? this.#size : (await segmentSize(this.#dir, s)) ?? 0;
      total += s === from.segment ? Math.max(0, size - from.offset) : size;
    }
    return total;
  }

  /** Syncs what is buffered and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.sync();
    this.#closed = true;
    this.#file.close();
  }
}

async function listSegments(dir: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = e.isFile ? SEGMENT.exec(e.name) : null;
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

async function segmentSize(dir: string, segment: number): Promise<number | undefined> {
  try {
    return (await Deno.stat(join(dir, name(segment)))).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function readRange(file: Deno.FsFile, from: number, to: number): Promise<Uint8Array> {
  const out = new Uint8Array(to - from);
  await file.seek(from, Deno.SeekMode.Start);
  let got = 0;
  while (got < out.length) {
    const n = await file.read(out.subarray(got));
    if (n === null) break;
    got += n;
  }
  return out.subarray(0, got);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Where the store has caught up to, and the batch being inserted when the process stopped, if any. */
export interface Checkpoint {
  stored: WalPosition;
  /** Written before an insert, cleared after: on restart this exact range is inserted again with its token. */
  pending?: { start: WalPosition; end: WalPosition };
}

/** Reads `checkpoint.json` in the log directory; the start of the log when there is none. */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "checkpoint.json"))) as Checkpoint;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { stored: { segment: 0, offset: 0 } };
    throw err;
  }
}

/** Replaces `checkpoint.json` atomically (write, fsync, rename). */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  const tmp = join(dir, "checkpoint.json.tmp");
  const file = await Deno.open(tmp, { create: true, write: true, truncate: true });
  try {
    await file.write(new TextEncoder().encode(JSON.stringify(checkpoint)));
    await file.syncData();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, join(dir, "checkpoint.json"));
}
