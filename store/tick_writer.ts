import { join } from "node:path";
import type { Tick } from "../schema/tick.ts";
import { tickToRow } from "./rows.ts";
import { tickStored } from "./queries/ticks.ts";
import type { Row, Store } from "./store.ts";
import { persistentId } from "./persistent_id.ts";
import { readCheckpoint, Wal, type WalPosition, writeCheckpoint } from "./wal.ts";

/** Options of {@link TableWriter.open}. Defaults follow ClickHouse's advice: large batches, about one a second. */
export interface TickWriterOptions {
  /** Table the rows go to (default "ticks"). */
  table?: string;
  /** A batch is inserted as soon as this many rows wait (default 100,000). */
  batchRows?: number;
  /** ...or this long after the previous insert, whichever comes first (default 1,000 ms). */
  flushIntervalMs?: number;
  /** Group commit: appended ticks are fsynced to the log this often (default 20 ms). */
  syncIntervalMs?: number;
  /** Appends are refused while this many bytes wait for their fsync (default 32 MiB). */
  maxBufferedBytes?: number;
  /** Appends are refused while this many logged bytes wait for the store (default 2 GiB). */
  maxBacklogBytes?: number;
  /** First retry delay after a failed insert; doubles up to 10 s (default 200 ms). */
  retryMinMs?: number;
  /** Called with each failure: an insert (the batch stays in the log and is retried) or a log fsync. */
  onError?: (err: unknown) => void;
  /**
   * Whether a row is in the table. Asked after a restart about the first and last row of the batch the previous
   * process was inserting: the engine records an insert's deduplication token before it commits the part, so an
   * engine killed in between would drop the re-sent batch as a duplicate of a part it never kept. With this, a
   * batch not found is re-sent under a new token; without it (tables that replace rows by key), it always is.
   */
  stored?: (row: Row) => Promise<boolean>;
}

/** Raised by {@link TableWriter.append} when the writer cannot take more; the caller counts it as dropped. */
export class BackpressureError extends Error {
  override name = "BackpressureError";
}

/** What the writer is doing, for /api/v1/health and /metrics. */
export interface TickWriterStats {
  /** Ticks handed to append() and accepted into the log buffer. */
  appended: number;
  /** Ticks whose group-commit fsync completed: accepted for good. */
  accepted: number;
  /** Rows inserted into the store (a re-sent batch counts again; the store drops the copy). */
  stored: number;
  batches: number;
  /** Insert failures since start. */
  failures: number;
  /** True when the last insert succeeded (or none was needed yet). */
  storeUp: boolean;
  /** Logged bytes not yet in the store. */
  backlogBytes: number;
  bufferedBytes: number;
  lastError?: string;
}

const encoder = new TextEncoder();

/**
 * Batched, loss-free storage of one table's rows (ticks, closed candles, alerts).
 *
 * `append` encodes values as JSONEachRow lines into a write-ahead log under `dir`; a tick is **accepted** once the
 * group-commit fsync covering it completes, which is when the promise `append` returned resolves (at most
 * `syncIntervalMs` later). A flush loop inserts the log in order, one whole-line range per batch, with an insert
 * deduplication token naming that range. Before each insert the range is recorded in `checkpoint.json`; after a
 * crash the same range is inserted again with the same token, which ClickHouse drops if the first insert had
 * landed. So every accepted tick is stored exactly once, and while the store is down ticks wait in the log on disk.
 */
export class TableWriter<T> {
  #store: Store;
  #encode: (value: T) => Row;
  #wal: Wal;
  #id: string;
  #table: string;
  #opts: Required<Omit<TickWriterOptions, "onError" | "table" | "stored">>;
  #storedRow: ((row: Row) => Promise<boolean>) | undefined;
  /** The pending range came from a previous process (checked before it is sent again). */
  #inherited = false;
  #onError: (err: unknown) => void;
  #stored: WalPosition;
  /** The range being inserted: until it succeeds, every retry re-sends exactly it, under the same token. */
  #pending: { start: WalPosition; end: WalPosition } | undefined;
  #stats: TickWriterStats = {
    appended: 0,
    accepted: 0,
    stored: 0,
    batches: 0,
    failures: 0,
    storeUp: true,
    backlogBytes: 0,
    bufferedBytes: 0,
  };
  #unflushedLines = 0;
  #ack: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #again = false;
  #retryMs: number;
  /** Segments before this one are already deleted. */
  #removedBefore = 0;
  #closed = false;

  private constructor(
    store: Store,
    encode: (value: T) => Row,
    wal: Wal,
    id: string,
    stored: WalPosition,
    options: TickWriterOptions,
  ) {
    this.#store = store;
    this.#encode = encode;
    this.#wal = wal;
    this.#id = id;
    this.#stored = stored;
    this.#table = options.table ?? "ticks";
    this.#opts = {
      batchRows: options.batchRows ?? 100_000,
      flushIntervalMs: options.flushIntervalMs ?? 1_000,
      syncIntervalMs: options.syncIntervalMs ?? 20,
      maxBufferedBytes: options.maxBufferedBytes ?? 32 * 1024 * 1024,
      maxBacklogBytes: options.maxBacklogBytes ?? 2 * 1024 * 1024 * 1024,
      retryMinMs: options.retryMinMs ?? 200,
    };
    this.#retryMs = this.#opts.retryMinMs;
    this.#onError = options.onError ?? (() => {});
    this.#storedRow = options.stored;
  }

  /**
   * Opens the log in `dir` and starts the fsync and flush loops. The flush loop first re-sends the batch a previous
   * process was inserting when it stopped (same range, same token), then whatever else the log holds. A store that
   * is down at open is retried in the background.
   *
   * @param encode the table row of one appended value
   * @example
   * ```ts
   * const alerts = await TableWriter.open(store, "data/wal-alerts", alertToRow, { table: "alerts" });
   * await alerts.append([alert]); // resolves once fsynced: the alert will reach the table exactly once
   * ```
   */
  static async open<T>(
    store: Store,
    dir: string,
    encode: (value: T) => Row,
    options: TickWriterOptions = {},
  ): Promise<TableWriter<T>> {
    const wal = await Wal.open(dir);
    // A random id kept beside the log, so tokens from a fresh DATA_DIR never match an older log's.
    const id = await persistentId(join(dir, "id"));
    const checkpoint = await readCheckpoint(dir);
    const writer = new TableWriter(store, encode, wal, id, checkpoint.stored, options);
    writer.#pending = checkpoint.pending;
    writer.#inherited = checkpoint.pending !== undefined;
    writer.#stats.backlogBytes = await wal.backlogBytes(writer.#stored);
    writer.#syncTimer = setInterval(() => void writer.#sync().catch(() => {}), writer.#opts.syncIntervalMs);
    writer.#scheduleFlush(0);
    return writer;
  }

  /** True while an append would be taken. */
  get writable(): boolean {
    return !this.#closed && this.#wal.bufferedBytes < this.#opts.maxBufferedBytes &&
      this.#stats.backlogBytes < this.#opts.maxBacklogBytes;
  }

  /**
   * Logs `values`; the promise resolves once they are fsynced (accepted). Throws {@link BackpressureError}
   * synchronously when the writer is closed or full, so a feed can count the drop without awaiting.
   */
  append(ticks: readonly T[]): Promise<void> {
    if (!this.writable) {
      throw new BackpressureError(
        this.#closed ? `${this.#table} writer is closed` : `${this.#table} writer is full: the store is behind`,
      );
    }
    if (ticks.length === 0) return Promise.resolve();
    let text = "";
    for (const t of ticks) text += JSON.stringify(this.#encode(t)) + "\n";
    const bytes = encoder.encode(text);
    this.#wal.append(bytes);
    this.#stats.appended += ticks.length;
    this.#unsynced += ticks.length;
    this.#stats.backlogBytes += bytes.length;
    this.#unflushedLines += ticks.length;
    if (this.#unflushedLines >= this.#opts.batchRows) this.#scheduleFlush(0);
    if (!this.#ack) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Callers may ignore the promise (feeds do); a failed sync is reported through onError instead.
      promise.catch(() => {});
      this.#ack = { promise, resolve, reject };
    }
    return this.#ack.promise;
  }

  /** Ticks appended since the last fsync started. */
  #unsynced = 0;

  async #sync(): Promise<void> {
    const ack = this.#ack;
    if (!ack) return;
    this.#ack = undefined;
    const covered = this.#unsynced;
    this.#unsynced = 0;
    try {
      await this.#wal.sync();
      this.#stats.accepted += covered;
      ack.resolve();
    } catch (err) {
      ack.reject(err);
      this.#onError(err);
      throw err;
    }
  }

  #scheduleFlush(delayMs: number): void {
    if (this.#closed && delayMs > 0) return;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const run = () => {
      this.#flushTimer = undefined;
      if (this.#flushing) {
        // The running pass may already have read past its end: it starts one more when it finishes.
        this.#again = true;
        return;
      }
      this.#flushing = this.#flushAll().finally(() => {
        this.#flushing = undefined;
        if (this.#again) {
          this.#again = false;
          this.#scheduleFlush(0);
        }
      });
    };
    // A full batch starts now: a timer could wait behind a busy stream of socket messages.
    if (delayMs === 0) queueMicrotask(run);
    else this.#flushTimer = setTimeout(run, delayMs);
  }

  /** Inserts everything logged so far; on failure, schedules a retry with backoff. */
  async #flushAll(): Promise<void> {
    try {
      await this.#sync();
      for (;;) {
        const pending = this.#pending;
        const batch = pending
          ? await this.#wal.read(pending.start, Number.MAX_SAFE_INTEGER, pending.end.offset - pending.start.offset)
          : await this.#wal.read(this.#stored, this.#opts.batchRows);
        if (!batch) break;
        if (pending && (batch.end.segment !== pending.end.segment || batch.end.offset !== pending.end.offset)) {
          throw new Error(
            `write-ahead log no longer holds the pending range ${JSON.stringify(pending)}; it was changed on disk`,
          );
        }
        if (!pending) {
          this.#pending = { start: batch.start, end: batch.end };
          await writeCheckpoint(this.#wal.dir, { stored: batch.start, pending: this.#pending });
        }
        await this.#insert(batch.start, batch.end, batch.payload, batch.lines, await this.#retryToken(batch.payload));
      }
      this.#retryMs = this.#opts.retryMinMs;
      this.#scheduleFlush(this.#opts.flushIntervalMs);
    } catch (err) {
      this.#stats.failures++;
      this.#stats.storeUp = false;
      this.#stats.lastError = err instanceof Error ? err.message : String(err);
      this.#onError(err);
      this.#again = false; // the retry below comes first, with its backoff
      this.#scheduleFlush(this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
    }
  }

  /**
   * For the batch a previous process was inserting: "skip" when it is in the table, a suffix that makes its token
   * new when it is not (see {@link TickWriterOptions.stored}), "" for every other batch.
   */
  async #retryToken(payload: Uint8Array): Promise<string | "skip"> {
    if (!this.#inherited) return "";
    this.#inherited = false;
    if (!this.#storedRow) return `:restart-${Date.now()}`;
    const text = new TextDecoder().decode(payload);
    const first = JSON.parse(text.slice(0, text.indexOf("\n"))) as Row;
    const last = JSON.parse(text.slice(text.lastIndexOf("\n", text.length - 2) + 1)) as Row;
    return (await this.#storedRow(first)) && (await this.#storedRow(last)) ? "skip" : `:restart-${Date.now()}`;
  }

  async #insert(
    start: WalPosition,
    end: WalPosition,
    payload: Uint8Array,
    lines: number,
    retry: string | "skip" = "",
  ): Promise<void> {
    const token = `${this.#id}:${start.segment}:${start.offset}-${end.offset}${retry === "skip" ? "" : retry}`;
    if (retry !== "skip") await this.#store.insertJsonEachRow(this.#table, payload, { dedupToken: token });
    this.#stored = end;
    this.#pending = undefined;
    await writeCheckpoint(this.#wal.dir, { stored: end });
    if (end.segment > this.#removedBefore) {
      await this.#wal.removeBefore(end.segment);
      this.#removedBefore = end.segment;
    }
    this.#stats.stored += lines;
    this.#stats.batches++;
    this.#stats.storeUp = true;
    this.#stats.lastError = undefined;
    this.#stats.backlogBytes = Math.max(0, this.#stats.backlogBytes - payload.length);
    this.#unflushedLines = Math.max(0, this.#unflushedLines - lines);
  }

  /** Fsyncs and inserts everything appended so far; rejects if the store refuses (the ticks stay logged). */
  async flush(): Promise<void> {
    await this.#flushing;
    clearTimeout(this.#flushTimer);
    const before = this.#stats.failures;
    await (this.#flushing = this.#flushAll().finally(() => {
      this.#flushing = undefined;
    }));
    if (this.#stats.failures !== before) throw new Error(`flush failed: ${this.#stats.lastError}`);
  }

  /** Counters and state. */
  stats(): TickWriterStats {
    return { ...this.#stats, bufferedBytes: this.#wal.bufferedBytes };
  }

  /**
   * Stops taking ticks, fsyncs the log and tries one last insert. Ticks the store did not take stay in the log for
   * the next start.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#syncTimer);
    clearTimeout(this.#flushTimer);
    await this.#flushing;
    await this.#sync();
    try {
      await this.#flushAll();
    } finally {
      clearTimeout(this.#flushTimer);
      await this.#wal.close();
    }
  }
}

/** The writer of the ticks table. */
export type TickWriter = TableWriter<Tick>;

/** Opens the ticks table's writer: {@link TableWriter.open} with the tick row encoding. */
export const TickWriter = {
  /**
   * @example
   * ```ts
   * const writer = await TickWriter.open(store, join(dataDir, "wal"));
   * await writer.append(ticks);
   * ```
   */
  open(store: Store, dir: string, options: TickWriterOptions = {}): Promise<TickWriter> {
    return TableWriter.open(store, dir, tickToRow, {
      table: "ticks",
      stored: (row) => tickStored(store, row),
      ...options,
    });
  },
};
