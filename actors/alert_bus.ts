import type { Alert } from "../schema/alert.ts";

/**
 * The in-process alert bus: the actor system publishes each alert once; the WebSocket hub and the notifier
 * subscribe. A subscriber that throws is logged by the caller's `onError` and never stops the others.
 *
 * @example
 * ```ts
 * const bus = new AlertBus((err) => console.error(err));
 * const stop = bus.subscribe((a) => console.log(a.message));
 * bus.publish(alert);
 * stop();
 * ```
 */
export class AlertBus {
  #subs = new Set<(a: Alert) => void>();
  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(fn: (a: Alert) => void): () => void {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }

  publish(a: Alert): void {
    for (const fn of this.#subs) {
      try {
        fn(a);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
