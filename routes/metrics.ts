import { createRoute, z } from "@hono/zod-openapi";
import type { Env } from "hono";
import { access, apiRouter } from "./api/declare.ts";
import type { Labels, MetricsRegistry } from "../schema/metrics.ts";

const NEEDS_ESCAPE = /[\\"\n]/;

/**
 * The series key of a label set: names in code-unit order, values escaped. Called per counted tick, so it avoids
 * entries arrays, locale-aware sorting and escaping values that need none.
 */
function key(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let out = "";
  for (const k of names) {
    let v = labels[k]!;
    if (NEEDS_ESCAPE.test(v)) v = v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
    out += `${out ? "," : ""}${k}="${v}"`;
  }
  return out;
}

/**
 * Counters and gauges in Prometheus text format. Counters are incremented by the pipeline; gauges are read from a
 * callback at scrape time, so nothing is sampled in between.
 */
export class Metrics implements MetricsRegistry {
  #counters = new Map<string, { help: string; values: Map<string, number> }>();
  #gauges = new Map<
    string,
    { help: string; read: () => number | Record<string, number>; label?: string; type: "gauge" | "counter" }
  >();
  #histograms = new Map<
    string,
    { help: string; buckets: readonly number[]; series: Map<string, { counts: number[]; sum: number; n: number }> }
  >();

  /** Adds `by` (default 1) to counter `name` with `labels`. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const c = this.#counters.get(name);
    if (!c) throw new Error(`counter ${name} is not declared`);
    const k = key(labels);
    c.values.set(k, (c.values.get(k) ?? 0) + by);
  }

  /** Declares counter `name`. */
  counter(name: string, help: string): this {
    this.#counters.set(name, { help, values: new Map() });
    return this;
  }

  /** Declares gauge `name`, read at scrape time; a record return value gives one series per `label` value. */
  gauge(name: string, help: string, read: () => number | Record<string, number>, label?: string): this {
    if (name.endsWith("_total")) throw new Error(`gauge ${name}: a _total name is a counter (use counterFrom)`);
    this.#gauges.set(name, { help, read, type: "gauge", ...(label ? { label } : {}) });
    return this;
  }

  /**
   * Declares counter `name` (ending in `_total`) whose value a component already keeps: read at scrape time, it
   * must only ever grow. A record return value gives one series per `label` value.
   */
  counterFrom(name: string, help: string, read: () => number | Record<string, number>, label?: string): this {
    if (!name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
    this.#gauges.set(name, { help, read, type: "counter", ...(label ? { label } : {}) });
    return this;
  }

  /** Declares histogram `name` with upper bounds `buckets` (ascending; +Inf is implied). */
  histogram(name: string, help: string, buckets: readonly number[]): this {
    this.#histograms.set(name, { help, buckets, series: new Map() });
    return this;
  }

  /** Records one observation `value` of histogram `name` with `labels`. */
  observe(name: string, value: number, labels: Labels = {}): void {
    const h = this.#histograms.get(name);
    if (!h) throw new Error(`histogram ${name} is not declared`);
    const k = key(labels);
    let s = h.series.get(k);
    if (!s) h.series.set(k, s = { counts: h.buckets.map(() => 0), sum: 0, n: 0 });
    for (let i = 0; i < h.buckets.length; i++) if (value <= h.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.n++;
  }

  /** Observations so far of a histogram series (tests). */
  count(name: string, labels: Labels = {}): number {
    return this.#histograms.get(name)?.series.get(key(labels))?.n ?? 0;
  }

  /** Current value of a counter series (tests, health). */
  value(name: string, labels: Labels = {}): number {
    return this.#counters.get(name)?.values.get(key(labels)) ?? 0;
  }

  /** The Prometheus text exposition. */
  render(): string {
    let out = "";
    for (const [name, c] of this.#counters) {
      out += `# HELP ${name} ${c.help}\n# TYPE ${name} counter\n`;
      for (const [k, v] of c.values) out += `${name}${k ? `{${k}}` : ""} ${v}\n`;
    }
    for (const [name, g] of this.#gauges) {
      out += `# HELP ${name} ${g.help}\n# TYPE ${name} ${g.type}\n`;
      const v = g.read();
      if (typeof v === "number") out += `${name} ${v}\n`;
      else for (const [lv, n] of Object.entries(v)) out += `${name}{${key({ [g.label ?? "label"]: lv })}} ${n}\n`;
    }
    for (const [name, h] of this.#histograms) {
      out += `# HELP ${name} ${h.help}\n# TYPE ${name} histogram\n`;
      for (const [k, s] of h.series) {
        const pre = k ? `${k},` : "";
        h.buckets.forEach((b, i) => out += `${name}_bucket{${pre}le="${b}"} ${s.counts[i]}\n`);
        out += `${name}_bucket{${pre}le="+Inf"} ${s.n}\n`;
        const lab = k ? `{${k}}` : "";
        out += `${name}_sum${lab} ${s.sum}\n${name}_count${lab} ${s.n}\n`;
      }
    }
    return out;
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
    (c) => c.text(metrics.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
}
