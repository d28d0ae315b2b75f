import type { MetricsRegistry } from "../schema/metrics.ts";
import type { Tick } from "../schema/tick.ts";
import { BackpressureError, type TickWriter } from "../store/tick_writer.ts";
import type { FeedSink } from "./feed.ts";

/** Options of {@link createIngestSink}. */
export interface IngestOptions {
  writer: TickWriter;
  metrics: MetricsRegistry;
  /** Structured log line writer. */
  log: (level: "warn", msg: string, fields: Record<string, unknown>) => void;
  /** At most one log line per reject reason per this window (default 10 s); the rest are counted. */
  logEveryMs?: number;
  /** Also called with every accepted tick (actors, WebSocket fan-out). */
  onTick?: (tick: Tick) => void;
  now?: () => number;
  /** Stamps each accepted tick's `seq` (default: a new {@link ArrivalClock} on `now`). */
  clock?: ArrivalClock;
}

/**
 * Hands out tick arrival positions: strictly increasing numbers that also keep increasing across a restart without
 * any stored state. A position is the larger of the last one plus one and the wall clock in microseconds
 * (ms × 1,000), so it follows the clock while fewer than 1,000 ticks arrive per millisecond and runs ahead of it
 * otherwise, never backwards. 1,000 ticks per ms is ten times the ingest ceiling, so a restarted process starts
 * above every position the previous one gave out. The values stay below 2^53 until the year 2255.
 *
 * @example
 * ```ts
 * const clock = new ArrivalClock(() => 1_700_000_000_000);
 * clock.next(); // 1_700_000_000_000_000
 * clock.next(); // 1_700_000_000_000_001
 * ```
 */
export class ArrivalClock {
  #last = 0;
  constructor(private readonly now: () => number = Date.now) {}

  /** @returns the next arrival position. */
  next(): number {
    this.#last = Math.max(this.#last + 1, this.now() * 1_000);
    return this.#last;
  }
}

/** Declares the ingest counters on `metrics`. */
export function declareIngestMetrics(metrics: MetricsRegistry): void {
  metrics
    .counter("breadboard_ticks_received_total", "Ticks decoded from a feed, by source", ["source"])
    .counter("breadboard_frames_rejected_total", "Upstream frames not turned into ticks, by reason", ["reason"])
    .counter("breadboard_ticks_dropped_total", "Ticks the writer could not take (store far behind), by reason", [
      "reason",
    ]);
}

/**
 * The sink every feed writes to: each tick goes to the write-ahead-logged writer and on to `onTick`; each rejected
 * frame is counted by reason and logged at a bounded rate. Nothing here throws back into a feed. A failed log fsync
 * reaches the writer's onError, not this sink.
 */
export function createIngestSink(o: IngestOptions): FeedSink {
  const lastLog = new Map<string, { at: number; suppressed: number }>();
  const every = o.logEveryMs ?? 10_000;
  const now = o.now ?? Date.now;
  const clock = o.clock ?? new ArrivalClock(now);
  const note = (reason: string, detail: string) => {
    const t = now();
    const seen = lastLog.get(reason);
    if (seen && t - seen.at < every) {
      seen.suppressed++;
      return;
    }
    o.log("warn", "upstream frame rejected", { reason, detail, suppressedSinceLast: seen?.suppressed ?? 0 });
    lastLog.set(reason, { at: t, suppressed: 0 });
  };
  return {
    tick(tick) {
      o.metrics.inc("breadboard_ticks_received_total", { source: tick.source });
      tick.seq = clock.next();
      try {
        void o.writer.append([tick]);
      } catch (err) {
        const reason = err instanceof BackpressureError ? "backpressure" : "writer_error";
        o.metrics.inc("breadboard_ticks_dropped_total", { reason });
        note(reason, String(err));
        return;
      }
      o.onTick?.(tick);
    },
    reject(reason, detail) {
      o.metrics.inc("breadboard_frames_rejected_total", { reason });
      note(reason, detail);
    },
  };
}
