import type { FeedStatus } from "../schema/health.ts";
import type { Tick } from "../schema/tick.ts";

/** Where a feed delivers what it decodes. Called synchronously from the feed's socket handlers: keep it cheap. */
export interface FeedSink {
  tick(tick: Tick): void;
  /** A frame that could not be used; `reason` is a /metrics label. */
  reject(reason: string, detail: string): void;
}

/** A live source of ticks. */
export interface Feed {
  /** Connects and keeps connecting until {@link stop}. */
  start(): void;
  /** Closes every connection; no tick is delivered after it resolves. */
  stop(): Promise<void>;
  /** Replaces the tracked symbols; only the difference is (un)subscribed. */
  setSymbols(symbols: readonly string[]): void;
  status(): FeedStatus;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from `minMs`, capped at `maxMs`, with full jitter
 * (uniform between half and all of it) so a fleet of clients does not reconnect in step.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}
