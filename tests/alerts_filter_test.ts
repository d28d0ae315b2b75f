import assert from "node:assert/strict";
import { type AlertRow, matches } from "../islands/Alerts.tsx";

const alert = (over: Partial<AlertRow>): AlertRow => ({
  id: "a1",
  time: new Date("2026-11-20T15:00:00").getTime(),
  symbol: "AAPL",
  rule: "r1",
  kind: "price_above",
  window: "",
  message: "AAPL rose above 200.00 to 201.00",
  price: 201,
  changePercent: 0.5,
  ...over,
});
const none = { symbol: "", rule: "", since: "", until: "" };

Deno.test("a live alert joins the history table only when it matches the filter shown", () => {
  assert.ok(matches(none, alert({})));
  assert.ok(matches({ ...none, symbol: " aapl " }, alert({})));
  assert.ok(!matches({ ...none, symbol: "MSFT" }, alert({})));
  assert.ok(!matches({ ...none, rule: "r2" }, alert({})));
  assert.ok(matches({ ...none, since: "2026-11-20", until: "2026-11-20" }, alert({})));
  assert.ok(!matches({ ...none, until: "2026-11-19" }, alert({})));
  assert.ok(!matches({ ...none, since: "2026-11-21" }, alert({})));
});
