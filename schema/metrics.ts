/**
 * The narrow metrics surface the stages declare and count through. routes/metrics.ts implements it and exposes it
 * to Prometheus; feeds, actors and the store know only this.
 */

/** Label names to values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** Declaring and counting metrics. */
export interface MetricsRegistry {
  /** Adds `by` (default 1) to counter `name` with `labels`. */
  inc(name: string, labels?: Labels, by?: number): void;
  /** Declares a counter the code increments with {@link MetricsRegistry.inc}, its series labelled by `labelNames`. */
  counter(name: string, help: string, labelNames?: readonly string[]): this;
  /** Declares a gauge read from `read` at scrape time (one series per key of a record, under `label`). */
  gauge(name: string, help: string, read: () => number | Record<string, number>, label?: string): this;
  /** Declares a counter whose running total is read from `read` at scrape time. */
  counterFrom(name: string, help: string, read: () => number | Record<string, number>, label?: string): this;
}
