import { backoffDelay } from "../schema/backoff.ts";
import type { Logger } from "../schema/log.ts";

/** What {@link Resync} reports a failed re-read to. */
export interface ResyncReport {
  log?: Logger;
  /** Called once per failed attempt (a counter for /metrics). */
  failed?: () => void;
}

/**
 * Re-reads an in-memory copy (a book of rules or watchlists) from its store when told it changed, and never drops a
 * failure: a failed re-read is logged, counted and retried with backoff (250 ms doubling to 30 s) until one
 * succeeds. A request while a re-read runs is remembered and runs after it, so the last change is always read.
 *
 * @example
 * ```ts
 * const sync = new Resync("rules", () => book.reload(), { log, failed: () => metrics.inc("breadboard_book_resync_failures_total") });
 * followVersion(kv, key, () => sync.request());
 * ```
 */
export class Resync {
  #running = false;
  #again = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Failed attempts so far. */
  failures = 0;

  constructor(
    private readonly name: string,
    private readonly reload: () => Promise<void>,
    private readonly report: ResyncReport = {},
  ) {}

  /** Asks for a re-read: now, or after the one running (a failed one keeps retrying until it succeeds). */
  request(): void {
    if (this.#closed) return;
    if (this.#running || this.#timer !== undefined) {
      this.#again = true;
      return;
    }
    void this.#run();
  }

  async #run(): Promise<void> {
    this.#running = true;
    this.#again = false;
    try {
      await this.reload();
      this.#attempt = 0;
    } catch (err) {
      this.failures++;
      this.report.failed?.();
      const delay = backoffDelay(this.#attempt++, 250, 30_000);
      this.report.log?.("warn", "re-reading after a change failed; retrying", {
        collection: this.name,
        attempt: this.#attempt,
        retryInMs: delay,
        error: err instanceof Error ? err.message : String(err),
      });
      this.#running = false;
      if (!this.#closed) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          void this.#run();
        }, delay);
      }
      return;
    }
    this.#running = false;
    if (this.#again && !this.#closed) void this.#run();
  }

  /** Stops retrying. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
