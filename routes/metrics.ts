import { Hono } from "hono";

type Labels = Readonly<Record<string, string>>;

function key(labels: Labels): string {
  return Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`).join(",");
}

/**
 * Counters and gauges in Prometheus text format. Counters are incremented by the pipeline; gauges are read from a
 * callback at scrape time, so nothing is sampled in between.
 */
export class Metrics {
  #counters = new Map<string, { help: string; values: Map<string, number> }>();
  #gauges = new Map<string, { help: string; read: () => number | Record<string, number>; label?: string }>();

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
    this.#gauges.set(name, { help, read, ...(label ? { label } : {}) });
    return this;
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
      out += `# HELP ${name} ${g.help}\n# TYPE ${name} gauge\n`;
      const v = g.read();
      if (typeof v === "number") out += `${name} ${v}\n`;
      else for (const [lv, n] of Object.entries(v)) out += `${name}{${key({ [g.label ?? "label"]: lv })}} ${n}\n`;
    }
    return out;
  }
}

/** GET /metrics. */
export function metricsRoutes(metrics: Metrics): Hono {
  return new Hono().get("/", (c) => {
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(metrics.render());
  });
}
