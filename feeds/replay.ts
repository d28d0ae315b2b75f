import { z } from "zod";
import type { FeedStatus } from "../schema/health.ts";
import type { Feed, FeedSink } from "./feed.ts";
import { LIVE_FEEDS } from "../schema/feeds.ts";
import type { Decoded } from "./open.ts";

const recordedSchema = z.object({
  at: z.number().int().nonnegative(),
  source: z.enum(LIVE_FEEDS),
  frame: z.string(),
});

/** Options of {@link ReplayFeed}. */
export interface ReplayOptions {
  /** A file written by the recorder (RECORD_FILE). */
  path: string;
  /** Each recorded source's decoder, built with `source: "replay"` (from the feed registry, feeds/open.ts). */
  decoders: Readonly<Record<string, (frame: string) => Iterable<Decoded>>>;
  sink: FeedSink;
  /** 1 plays at the recorded pace, 10 ten times faster, 0 as fast as the sink takes it (default 1). */
  speed?: number;
  /** Called once when the whole file has been played. */
  onEnd?: (frames: number) => void;
}

/**
 * Plays a recorded file back through the same decoders the live feeds use, keeping the recorded gaps between frames
 * divided by `speed`. Ticks carry `source: "replay"` and their recorded times. Every symbol in the file is played:
 * the recording is the subscription. A line that is not a recorded frame is rejected as `bad_record` and skipped.
 *
 * @example
 * ```ts
 * const feed = new ReplayFeed({ path: "./data/frames.jsonl", speed: 10, decoders, sink });
 * feed.start();
 * await feed.stop();
 * ```
 */
export class ReplayFeed implements Feed {
  readonly #o: ReplayOptions;
  #state: FeedStatus["state"] = "stopped";
  #error: string | undefined;
  #lastTickAt: number | null = null;
  #run: Promise<void> | undefined;
  #abort = new AbortController();
  /** Frames played so far. */
  played = 0;

  constructor(options: ReplayOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#run) return;
    this.#state = "live";
    this.#run = this.#play().catch((err) => {
      this.#state = "error";
      this.#error = `replay of ${this.#o.path} failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#o.sink.reject("replay_failed", this.#error);
    });
  }

  async #play(): Promise<void> {
    const speed = this.#o.speed ?? 1;
    const signal = this.#abort.signal;
    const file = await Deno.open(this.#o.path, { read: true });
    const lines = file.readable.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines());
    let firstAt: number | undefined;
    const startedAt = performance.now();
    let n = 0;
    try {
      for await (const line of lines) {
        if (signal.aborted) break;
        if (line.trim() === "") continue;
        let rec: z.infer<typeof recordedSchema>;
        try {
          rec = recordedSchema.parse(JSON.parse(line));
        } catch {
          this.#o.sink.reject("bad_record", line.slice(0, 120));
          continue;
        }
        firstAt ??= rec.at;
        if (speed > 0) {
          const due = startedAt + (rec.at - firstAt) / speed;
          const wait = due - performance.now();
          if (wait > 1) await sleep(wait, signal);
        } else if (++n % 1000 === 0) {
          await sleep(0, signal); // let timers and I/O run between batches
        }
        if (signal.aborted) break;
        this.played++;
        this.#deliver(rec.source, rec.frame);
      }
    } finally {
      await lines.cancel().catch(() => {});
    }
    if (!signal.aborted) {
      this.#state = "stopped";
      this.#o.onEnd?.(this.played);
    }
  }

  #deliver(source: string, frame: string): void {
    const decode = this.#o.decoders[source];
    if (!decode) {
      this.#o.sink.reject("bad_record", `no decoder for recorded source ${source}`);
      return;
    }
    for (const r of decode(frame)) {
      if (r.kind === "tick") {
        this.#lastTickAt = r.tick.time;
        this.#o.sink.tick(r.tick);
      } else if (r.kind === "reject") this.#o.sink.reject(r.reason, r.detail);
    }
  }

  /** Ignored: a replay plays what was recorded. */
  setSymbols(_symbols: readonly string[]): void {}

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#run;
    this.#state = "stopped";
  }

  status(): FeedStatus {
    return { state: this.#state, lastTickAt: this.#lastTickAt, ...(this.#error ? { error: this.#error } : {}) };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, ctl) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const p of parts) ctl.enqueue(p);
    },
    flush(ctl) {
      if (rest !== "") ctl.enqueue(rest);
    },
  });
}
