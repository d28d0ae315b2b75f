import assert from "node:assert/strict";
import { Metrics } from "./metrics.ts";

Deno.test("counter series: one per label set whatever the names' order, values escaped", async () => {
  const m = new Metrics().counter("t_total", "test", ["source", "reason"]);
  m.inc("t_total", { source: "yahoo", reason: "bad" });
  m.inc("t_total", { reason: "bad", source: "yahoo" }, 2);
  m.inc("t_total", { source: 'a"b\\c\nd' });
  m.inc("t_total");
  const text = await m.render();
  assert.match(text, /^# TYPE t_total counter$/m);
  assert.match(text, /^t_total\{source="yahoo",reason="bad"\} 3$/m);
  assert.match(text, /^t_total\{source="a\\"b\\\\c\\nd"\} 1$/m);
  assert.match(text, /^t_total 1$/m);
  assert.throws(() => m.inc("t_total", { other: "x" }), /label/i);
  assert.throws(() => m.inc("missing_total"), /not declared/);
});

Deno.test("gauges and running totals are read at scrape time, one series per key of a record", async () => {
  let open = 3;
  let sent: Record<string, number> = { email: 1 };
  const m = new Metrics()
    .gauge("t_open", "open things", () => open)
    .counterFrom("t_sent_total", "sent things", () => sent, "channel")
    .counterFrom("t_done_total", "done things", () => open * 10);
  assert.match(await m.render(), /^t_open 3$/m);
  open = 5;
  sent = { email: 4, webhook: 2 };
  const text = await m.render();
  assert.match(text, /^t_open 5$/m);
  assert.match(text, /^t_done_total 50$/m);
  assert.match(text, /^# TYPE t_sent_total counter$/m);
  assert.match(text, /^t_sent_total\{channel="email"\} 4$/m);
  assert.match(text, /^t_sent_total\{channel="webhook"\} 2$/m);
  assert.throws(() => m.gauge("x_total", "no", () => 1), /counterFrom/);
  assert.throws(() => m.counterFrom("x", "no", () => 1), /_total/);
});

Deno.test("histogram: cumulative buckets, sum and count per label set", async () => {
  const m = new Metrics().histogram("t_seconds", "latency", [0.01, 0.1, 1], ["op"]);
  for (const v of [0.005, 0.05, 0.5, 5]) m.observe("t_seconds", v, { op: "insert" });
  const text = await m.render();
  assert.match(text, /^t_seconds_bucket\{le="0.01",op="insert"\} 1$/m);
  assert.match(text, /^t_seconds_bucket\{le="0.1",op="insert"\} 2$/m);
  assert.match(text, /^t_seconds_bucket\{le="1",op="insert"\} 3$/m);
  assert.match(text, /^t_seconds_bucket\{le="\+Inf",op="insert"\} 4$/m);
  assert.match(text, /^t_seconds_sum\{op="insert"\} 5.555$/m);
  assert.match(text, /^t_seconds_count\{op="insert"\} 4$/m);
});
