import assert from "node:assert/strict";
import { Metrics } from "./metrics.ts";

Deno.test("counter series: one per label set whatever the names' order, values escaped only where needed", () => {
  const m = new Metrics().counter("t_total", "test");
  m.inc("t_total", { source: "yahoo", reason: "bad" });
  m.inc("t_total", { reason: "bad", source: "yahoo" }, 2);
  m.inc("t_total", { source: 'a"b\\c\nd' });
  m.inc("t_total");
  const text = m.render();
  assert.match(text, /^t_total\{reason="bad",source="yahoo"\} 3$/m);
  assert.match(text, /^t_total\{source="a\\"b\\\\c\\nd"\} 1$/m);
  assert.match(text, /^t_total 1$/m);
});
