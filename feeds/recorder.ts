/**
 * Records raw upstream frames to a file for the replay feed: one JSON line per frame,
 * `{"at": <receive time, epoch ms>, "source": "yahoo"|"massive", "frame": "<text as received>"}`.
 */

import type { LiveFeedName } from "../schema/feeds.ts";

/** Which decoder a recorded frame needs. */
export type RecordedSource = LiveFeedName;

/** One recorded frame. */
export interface RecordedFrame {
  at: number;
  source: RecordedSource;
  frame: string;
}

/** Options of {@link Recorder.open}. */
export interface RecorderOptions {
  /** Buffered lines are written at least this often (default 200 ms). */
  flushMs?: number;
  now?: () => number;
}

/**
 * An append-only frame recorder. Frames are buffered and written in batches; `close` writes the rest. A failed
 * write is reported once to `onError` and recording stops, the feed goes on.
 *
 * @example
 * ```ts
 * const recorder = await Recorder.open("./data/frames.jsonl", (err) => console.error(err));
 * const onFrame = recorder.hook("yahoo"); // give it to the live feed
 * await recorder.close();
 * ```
 */
export class Recorder {
  #lines: string[] = [];
  #timer: ReturnType<typeof setInterval>;
  #writing: Promise<void> = Promise.resolve();
  #failed = false;
  readonly #enc = new TextEncoder();
  /** Frames recorded so far. */
  frames = 0;

  private constructor(
    private readonly file: Deno.FsFile,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void,
    flushMs: number,
  ) {
    this.#timer = setInterval(() => void this.flush(), flushMs);
  }

  /** Opens `path` for appending (created when missing). */
  static async open(path: string, onError: (err: unknown) => void, o: RecorderOptions = {}): Promise<Recorder> {
    const file = await Deno.open(path, { append: true, create: true });
    return new Recorder(file, o.now ?? Date.now, onError, o.flushMs ?? 200);
  }

  /** A frame hook for a feed of `source`. */
  hook(source: RecordedSource): (frame: string) => void {
    return (frame) => {
      if (this.#failed) return;
      this.#lines.push(JSON.stringify({ at: this.now(), source, frame } satisfies RecordedFrame));
      this.frames++;
    };
  }

  /** Writes the buffered frames. */
  flush(): Promise<void> {
    if (this.#lines.length === 0 || this.#failed) return this.#writing;
    const bytes = this.#enc.encode(this.#lines.join("\n") + "\n");
    this.#lines = [];
    this.#writing = this.#writing.then(async () => {
      if (this.#failed) return;
      try {
        let off = 0;
        while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
      } catch (err) {
        this.#failed = true;
        this.onError(err);
      }
    });
    return this.#writing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    this.file.close();
  }
}
