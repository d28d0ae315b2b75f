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

export { backoffDelay } from "../schema/backoff.ts";
