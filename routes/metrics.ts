import { createRoute, z } from "@hono/zod-openapi";
import type { Env } from "hono";
import { access, apiRouter } from "./api/declare.ts";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Labels, MetricsRegistry } from "../schema/metrics.ts";

/** What a gauge or a running-total counter reads at scrape time: one value, or one per value of its label. */
type Reader = () => number | Record<string, number>;

/** Hands `put` each series of what `read` returns now: one unlabelled value, or one per value of `label`. */
function series(read: Reader, label: string | undefined, put: (labels: Labels, n: number) => void): void {
  const v = read();
  if (typeof v === "number") put({}, v);
  else for (const [lv, n] of Object.entries(v)) put({ [label!]: lv }, n);
}

/**
 * The process's metrics, kept and rendered in Prometheus's text format by prom-client. Counters and histograms are
 * counted by the pipeline; gauges and running totals a component already keeps are read at scrape time, so nothing
 * is sampled in between. Each instance has its own registry, so two apps in one process (tests) never share series.
 */
export class Metrics implements MetricsRegistry {
  readonly registry = new Registry();
  readonly #counters = new Map<string, Counter>();
  readonly #histograms = new Map<string, Histogram>();

  /** Adds `by` (default 1) to counter `name` with `labels`. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const c = this.#counters.get(name);
    if (!c) throw new Error(`counter ${name} is not declared`);
    c.inc(labels, by);
  }

  /** Declares counter `name`, whose series `inc` may label with `labelNames`. */
  counter(name: string, help: string, labelNames: readonly string[] = []): this {
    this.#counters.set(name, new Counter({ name, help, labelNames, registers: [this.registry] }));
    return this;
  }

  /** Declares gauge `name`, read at scrape time; a record return value gives one series per `label` value. */
  gauge(name: string, help: string, read: Reader, label?: string): this {
    if (name.endsWith("_total")) throw new Error(`gauge ${name}: a _total name is a counter (use counterFrom)`);
    new Gauge({
      ...this.#readAtScrape(name, help, label),
      collect() {
        this.reset();
        series(read, label, (labels, n) => this.set(labels, n));
      },
    });
    return this;
  }

  /**
   * Declares counter `name` (ending in `_total`) whose value a component already keeps: read at scrape time, it
   * must only ever grow. A record return value gives one series per `label` value.
   */
  counterFrom(name: string, help: string, read: Reader, label?: string): this {
    if (!name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
    new Counter({
      ...this.#readAtScrape(name, help, label),
      collect() {
        // prom-client's counters only add; the running total is the component's, so the series is set anew.
        this.reset();
        series(read, label, (labels, n) => this.inc(labels, n));
      },
    });
    return this;
  }

  /** The settings of a metric read at scrape time, in this registry. */
  #readAtScrape(name: string, help: string, label: string | undefined) {
    return { name, help, labelNames: label ? [label] : [], registers: [this.registry] };
  }

  /** Declares histogram `name` with upper bounds `buckets` (ascending; +Inf is implied), labelled by `labelNames`. */
  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): this {
    this.#histograms.set(
      name,
      new Histogram({ name, help, buckets: [...buckets], labelNames, registers: [this.registry] }),
    );
    return this;
  }

  /** Records one observation `value` of histogram `name` with `labels`. */
  observe(name: string, value: number, labels: Labels = {}): void {
    const h = this.#histograms.get(name);
    if (!h) throw new Error(`histogram ${name} is not declared`);
    h.observe(labels, value);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The exposition's content type. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * GET /metrics.
 *
 * @param metrics the registry to expose
 * @returns the router to mount at /metrics
 */
export function metricsRoutes(metrics: Metrics) {
  return apiRouter<Env>().openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["operations"],
      summary: "Prometheus metrics",
      ...access("public"),
      responses: {
        200: { description: "Prometheus text exposition", content: { "text/plain": { schema: z.string() } } },
      },
    }),
    async (c) => c.text(await metrics.render(), 200, { "Content-Type": metrics.contentType }),
  );
}
