import assert from "node:assert/strict";
import { type Rule, ruleSchema } from "../schema/rule.ts";
import type { Tick } from "../schema/tick.ts";
import { alertId } from "./rules.ts";
import { type ActorOutput, SymbolActor } from "./symbol_actor.ts";

const T0 = Date.UTC(2026, 10, 18, 15, 0); // a minute boundary
const tick = (time: number, price: number, extra: Partial<Tick> = {}): Tick => ({
  symbol: "AAPL",
  time,
  price,
  source: "yahoo",
  quoteType: "equity",
  marketHours: "regular",
  priceHint: 2,
  ...extra,
});
const out = (): ActorOutput => ({ alerts: [], candles: [] });
const rule = (r: Record<string, unknown>): Rule => ruleSchema.parse({ id: "r1", symbol: "AAPL", ...r });

Deno.test("SymbolActor builds one-minute candles with VWAP and closes them on time without a further tick", () => {
  const a = new SymbolActor("AAPL");
  const o = out();
  a.onTick(tick(T0 + 1_000, 100, { lastSize: 10 }), [], o, 1);
  a.onTick(tick(T0 + 20_000, 102, { lastSize: 30 }), [], o, 2);
  a.onTick(tick(T0 + 40_000, 99, { lastSize: 10 }), [], o, 3);
  assert.equal(o.candles.length, 0);
  a.onTick(tick(T0 + 61_000, 101, { lastSize: 5 }), [], o, 4);
  assert.deepEqual(o.candles.map((c) => c.candle), [{
    time: T0,
    open: 100,
    high: 102,
    low: 99,
    close: 99,
    volume: 50,
    vwap: (100 * 10 + 102 * 30 + 99 * 10) / 50,
    trades: 3,
  }]);
  // No tick after 01:01: the 01:00 candle closes once the clock passes its end plus the grace.
  a.closeDue(4 + 60_000, 2_000, o);
  assert.equal(o.candles.length, 1, "not yet: 58 s of event time have passed, the candle ends at 59 s");
  a.closeDue(4 + 62_000, 2_000, o);
  assert.equal(o.candles.length, 2);
  assert.deepEqual(o.candles[1]!.candle, {
    time: T0 + 60_000,
    open: 101,
    high: 101,
    low: 101,
    close: 101,
    volume: 5,
    vwap: 101,
    trades: 1,
  });
});

Deno.test("SymbolActor takes volume from day-volume deltas, falling back to trade sizes", () => {
  const a = new SymbolActor("AAPL");
  const o = out();
  a.onTick(tick(T0 + 1, 100, { dayVolume: 1_000 }), [], o, 1); // the first day volume sets the base: 0
  a.onTick(tick(T0 + 2, 100, { dayVolume: 1_250, lastSize: 100 }), [], o, 1); // delta 250 wins over lastSize
  a.onTick(tick(T0 + 3, 100, { lastSize: 40 }), [], o, 1);
  a.onTick(tick(T0 + 4, 100, { dayVolume: 10, lastSize: 7 }), [], o, 1); // a new day reset the counter
  assert.equal(a.c1!.volume, 250 + 40 + 7);
  assert.equal(a.windowStats()["1m"]!.volume, 297);
});

Deno.test("SymbolActor raises one drop alert per crossing, with a message a person reads", () => {
  const r = rule({ kind: "pct_change", direction: "drop", percent: 5, window: "15m", cooldownMs: 0, rearm: 1 });
  const a = new SymbolActor("AAPL");
  const o = out();
  const prices = [307.4, 305, 300, 291.4, 290, 289, 292.5, 296, 291, 280];
  prices.forEach((p, i) => a.onTick(tick(T0 + i * 30_000, p), [r], o, i));
  // 291.40 is 5.2% under the 307.40 high: fires. 290 and 289 stay beyond: no more. 292.5 is -4.85%, inside the
  // 1-point band; 296 (-3.7%) re-arms; 291 (-5.3%) fires again; 280 stays beyond.
  assert.deepEqual(o.alerts.map((x) => x.message), [
    "AAPL fell 5.2% in 15 min to 291.40",
    "AAPL fell 5.3% in 15 min to 291.00",
  ]);
  const first = o.alerts[0]!;
  assert.equal(first.id, alertId("r1", "AAPL", T0 + 3 * 30_000));
  assert.equal(first.kind, "pct_change");
  assert.equal(first.window, "15m");
  assert.equal(first.changePercent, -5.2049);
  assert.equal(first.price, 291.4);
});

Deno.test("SymbolActor price rules fire on a real crossing only, honour the cooldown, mute and expiry", () => {
  const above = rule({ kind: "price_above", price: 200, cooldownMs: 60_000, rearm: 0.5 });
  const a = new SymbolActor("AAPL");
  const o = out();
  a.onTick(tick(T0, 205), [above], o, 0); // already above when first seen: not a crossing
  a.onTick(tick(T0 + 1_000, 198), [above], o, 0); // re-arms (below 199)
  a.onTick(tick(T0 + 2_000, 201), [above], o, 0); // crossing: fires
  a.onTick(tick(T0 + 3_000, 198), [above], o, 0); // re-arms
  a.onTick(tick(T0 + 4_000, 202), [above], o, 0); // crossing within the cooldown: held
  a.onTick(tick(T0 + 63_000, 203), [above], o, 0); // still above after the cooldown: fires now
  assert.deepEqual(o.alerts.map((x) => [x.time, x.message]), [
    [T0 + 2_000, "AAPL rose above 200.00 to 201.00"],
    [T0 + 63_000, "AAPL rose above 200.00 to 203.00"],
  ]);

  const below = rule({ id: "b", kind: "price_below", price: 100, muteOutsideRegular: true, expiresAt: T0 + 10_000 });
  const b = new SymbolActor("AAPL");
  const ob = out();
  b.onTick(tick(T0, 105), [below], ob, 0);
  b.onTick(tick(T0 + 1_000, 99, { marketHours: "post" }), [below], ob, 0); // muted after hours
  b.onTick(tick(T0 + 2_000, 99), [below], ob, 0);
  b.onTick(tick(T0 + 3_000, 101), [below], ob, 0);
  b.onTick(tick(T0 + 4_000, 101.5), [below], ob, 0);
  b.onTick(tick(T0 + 20_000, 90), [below], ob, 0); // expired
  assert.deepEqual(ob.alerts.map((x) => x.time), [T0 + 2_000]);
});

Deno.test("a price rule created while already true waits for the next crossing, or fires at once when asked", () => {
  const waits = rule({ id: "w", kind: "price_below", price: 237.95 });
  const fires = rule({ id: "f", kind: "price_above", price: 77.61, ifAlreadyTrue: "fire" });
  assert.equal(waits.ifAlreadyTrue, "wait", "the default");
  const a = new SymbolActor("TSLA");
  const o = out();
  a.onTick(tick(T0, 78.39), [fires], o, 0);
  assert.deepEqual(o.alerts.map((x) => x.message), ["TSLA rose above 77.61 to 78.39"], "fires on the first tick");
  const b = new SymbolActor("TSLA");
  const p = out();
  b.onTick(tick(T0, 230), [waits], p, 0); // already below: waits
  b.onTick(tick(T0 + 1_000, 240), [waits], p, 0); // back above: re-armed
  b.onTick(tick(T0 + 2_000, 237.95), [waits], p, 0); // touches the level: fires, and says so in words
  assert.deepEqual(p.alerts.map((x) => x.message), ["TSLA reached 237.95 (alert at or below 237.95)"]);
});

Deno.test("the built-in day-change rule fires at ALERT_THRESHOLD from changePercent or the previous close", () => {
  const d = rule({ id: "default-day-change", kind: "day_change", percent: -5 });
  const a = new SymbolActor("AAPL");
  const o = out();
  a.onTick(tick(T0, 96, { previousClose: 100 }), [d], o, 0);
  a.onTick(tick(T0 + 1, 94.8), [d], o, 0); // -5.2% from the remembered previous close
  a.onTick(tick(T0 + 2, 94, { changePercent: -6 }), [d], o, 0);
  assert.deepEqual(o.alerts.map((x) => [x.message, x.changePercent]), [["AAPL is down 5.2% today at 94.80", -5.2]]);
});

Deno.test("volume spike and anomaly rules wait for their warm-up, then fire against the EWMA", () => {
  const spike = rule({ id: "v", kind: "volume_spike", factor: 4, cooldownMs: 0 });
  const anomaly = rule({ id: "z", kind: "anomaly", zScore: 4, cooldownMs: 0 });
  const a = new SymbolActor("AAPL");
  const o = out();
  let p = 100;
  for (let m = 0; m < 30; m++) {
    p *= m % 2 ? 1.001 : 0.999;
    a.onTick(tick(T0 + m * 60_000, p, { lastSize: 100 }), [spike, anomaly], o, m);
  }
  assert.equal(o.alerts.length, 0, "steady minutes raise nothing");
  a.onTick(tick(T0 + 30 * 60_000, p * 1.03, { lastSize: 1_000 }), [spike, anomaly], o, 31);
  assert.deepEqual(o.alerts.map((x) => x.kind).sort(), ["anomaly", "volume_spike"]);
  assert.match(o.alerts.find((x) => x.kind === "volume_spike")!.message, /^AAPL traded 10\.0x its usual minute volume/);
  assert.match(o.alerts.find((x) => x.kind === "anomaly")!.message, /standard deviations up this minute/);
});

Deno.test("SymbolActor skips out-of-order and duplicate ticks and holds back a 1000x print", () => {
  const a = new SymbolActor("AAPL");
  const o = out();
  assert.equal(a.onTick(tick(T0 + 10, 100), [], o, 0), "applied");
  assert.equal(a.onTick(tick(T0 + 5, 101), [], o, 0), "out_of_order");
  assert.equal(a.onTick(tick(T0 + 10, 100), [], o, 0), "duplicate");
  assert.equal(a.onTick(tick(T0 + 10, 100.5), [], o, 0), "applied", "same time, new price: a real tick");
  assert.equal(a.onTick(tick(T0 + 11, 100_500), [], o, 0), "price_jump");
  assert.equal(a.quote!.price, 100.5, "the suspect price is not shown");
  assert.equal(a.onTick(tick(T0 + 12, 100.6), [], o, 0), "jump_discarded");
  assert.equal(a.c1!.high, 100.6);
  // A real re-pricing (say a 1:20 reverse split) is confirmed by three agreeing ticks and then applied in order.
  assert.equal(a.onTick(tick(T0 + 13, 2_012), [], o, 0), "price_jump");
  assert.equal(a.onTick(tick(T0 + 14, 2_015), [], o, 0), "price_jump");
  assert.equal(a.onTick(tick(T0 + 15, 2_011), [], o, 0), "applied");
  assert.equal(a.quote!.price, 2_011);
  assert.equal(a.c1!.trades, 6);
});

Deno.test("SymbolActor restored from its snapshot continues exactly as the uninterrupted one", () => {
  const rules = [
    rule({ kind: "pct_change", direction: "drop", percent: 2, window: "5m", cooldownMs: 0 }),
    rule({ id: "r2", kind: "price_above", price: 101 }),
  ];
  const ticks = Array.from(
    { length: 600 },
    (_, i) => tick(T0 + i * 2_000, 100 + Math.sin(i / 15) * 3, { lastSize: i }),
  );
  const whole = new SymbolActor("AAPL");
  const wo = out();
  for (const t of ticks) whole.onTick(t, rules, wo, 0);

  const first = new SymbolActor("AAPL");
  const fo = out();
  for (const t of ticks.slice(0, 250)) first.onTick(t, rules, fo, 0);
  const snap = structuredClone(first.snapshot());
  const second = SymbolActor.restore(snap);
  for (const t of ticks.slice(250)) second.onTick(t, rules, fo, 0);

  assert.ok(wo.alerts.length >= 4, `alerts: ${wo.alerts.length}`);
  assert.deepEqual(fo.alerts, wo.alerts);
  assert.deepEqual(fo.candles, wo.candles);
  assert.deepEqual(second.snapshot(), whole.snapshot());
});

Deno.test("rule schema refuses a negative window, an unknown kind and a missing threshold, naming the field", () => {
  const bad = [
    [{ kind: "pct_change", direction: "drop", percent: 5, window: "-15m" }, "window", /window must be one of 1m, 5m/],
    [{ kind: "pct_change", direction: "drop", percent: -5, window: "15m" }, "percent", /percent must be above 0/],
    [{ kind: "moon_phase" }, "kind", /kind must be one of price_above/],
    [{ kind: "price_above" }, "price", /price must be a number/],
    [{ kind: "anomaly", zScore: 3, cooldownMs: -1 }, "cooldownMs", /./],
  ] as const;
  for (const [input, field, msg] of bad) {
    const r = ruleSchema.safeParse({ id: "x", symbol: "AAPL", ...input });
    assert.ok(!r.success, JSON.stringify(input));
    const issue = r.error.issues[0]!;
    assert.equal(String(issue.path.at(-1)), field);
    assert.match(issue.message, msg);
  }
});

Deno.test("SymbolActor consumes each arrival position once: a restored actor skips ticks at or before its snapshot's", () => {
  const a = new SymbolActor("AAPL");
  const o = out();
  // Three trades in one millisecond, then a snapshot.
  for (let i = 0; i < 3; i++) a.onTick(tick(T0 + 5, 100 + i, { lastSize: 10, seq: 11 + i }), [], o, 1);
  const restored = SymbolActor.restore(structuredClone(a.snapshot()));
  assert.equal(restored.lastSeq, 13);
  // Replay hands the same three again (same millisecond, different prices) and then a fourth: only the fourth counts.
  const outcomes = [11, 12, 13, 14].map((seq, i) =>
    restored.onTick(tick(T0 + 5, 100 + i, { lastSize: 10, seq }), [], o, 2)
  );
  assert.deepEqual(outcomes, ["duplicate", "duplicate", "duplicate", "applied"]);
  restored.closeDue(T0 + 120_000, 0, o);
  assert.equal(o.candles.at(-1)!.candle.trades, 4);
  assert.equal(o.candles.at(-1)!.candle.volume, 40);
  // An out-of-order tick still moves the position, so replaying it after a restart does not count it twice.
  assert.equal(restored.onTick(tick(T0 + 1, 99, { seq: 20 }), [], o, 3), "out_of_order");
  assert.equal(restored.lastSeq, 20);
});

Deno.test("the quote's open, high and low follow New York's trading day; the last price becomes the previous close", () => {
  const a = new SymbolActor("AAPL");
  const o = out();
  const thursday = Date.UTC(2026, 10, 19, 14, 30); // 09:30 ET
  a.onTick(tick(thursday, 100, { previousClose: 98 }), [], o, 0);
  a.onTick(tick(thursday + 3_600_000, 104), [], o, 0);
  a.onTick(tick(Date.UTC(2026, 10, 20, 1, 0), 103, { marketHours: "post" }), [], o, 0); // 20:00 ET, Friday in UTC
  assert.deepEqual(
    [a.quote!.open, a.quote!.dayHigh, a.quote!.dayLow, a.quote!.previousClose, a.quote!.day],
    [100, 104, 100, 98, Date.UTC(2026, 10, 19)],
    "still Thursday in New York",
  );
  a.onTick(tick(Date.UTC(2026, 10, 20, 13, 0), 101, { marketHours: "pre" }), [], o, 0); // 08:00 ET Friday
  const q = a.quote!;
  assert.deepEqual(
    [q.open, q.dayHigh, q.dayLow, q.previousClose, q.change, q.changePercent, q.day],
    [101, 101, 101, 103, -2, -1.9417, Date.UTC(2026, 10, 20)],
  );
  a.onTick(tick(Date.UTC(2026, 10, 20, 14, 31), 99, { openPrice: 100.5 }), [], o, 0); // the source's official open
  assert.deepEqual([a.quote!.open, a.quote!.dayLow], [100.5, 99]);
});

Deno.test("a bar_close rule ignores a wick through its level and fires when a minute closes beyond it", () => {
  const above = rule({
    id: "bc",
    symbol: "AAPL",
    kind: "price_above",
    price: 101,
    trigger: "bar_close",
    cooldownMs: 0,
  });
  const every = rule({ id: "ev", symbol: "AAPL", kind: "price_above", price: 101, cooldownMs: 0 });
  const a = new SymbolActor("AAPL");
  const o = out();
  a.onTick(tick(T0 + 1_000, 100), [above, every], o, 1);
  a.onTick(tick(T0 + 20_000, 101.5), [above, every], o, 1); // a wick above 101 …
  a.onTick(tick(T0 + 50_000, 100.5), [above, every], o, 1); // … that closes the minute below it
  a.onTick(tick(T0 + 61_000, 101.2), [above, every], o, 1); // closes 15:00 at 100.5
  assert.deepEqual(o.alerts.map((x) => [x.ruleId, x.time]), [["ev", T0 + 20_000]], "only the every-tick rule");
  a.onTick(tick(T0 + 119_000, 101.4), [above, every], o, 1);
  a.closeDue(1 + 61_000, 0, o); // no further tick: 15:01 closes on the clock at 101.4
  const bc = o.alerts.filter((x) => x.ruleId === "bc");
  assert.deepEqual(bc.map((x) => [x.time, x.price, x.message]), [[
    T0 + 120_000,
    101.4,
    "AAPL rose above 101.00 to 101.40",
  ]]);
});

Deno.test("editing a rule starts its state afresh; an unchanged rule keeps it across a new rule object", () => {
  const a = new SymbolActor("AAPL");
  const o = out();
  const r1 = rule({ kind: "price_above", price: 101, cooldownMs: 0 });
  a.onTick(tick(T0, 100), [r1], o, 1);
  a.onTick(tick(T0 + 1_000, 102), [r1], o, 0); // fires, disarms
  a.onTick(tick(T0 + 2_000, 102.5), [{ ...r1 }], o, 0); // the same rule reloaded: still disarmed
  assert.equal(o.alerts.length, 1);
  const r2 = rule({ kind: "price_above", price: 102.6, cooldownMs: 0, ifAlreadyTrue: "fire" });
  a.onTick(tick(T0 + 3_000, 103), [r2], o, 0); // a new level, fire if already true: fires at once
  assert.deepEqual(o.alerts.map((x) => x.message), [
    "AAPL rose above 101.00 to 102.00",
    "AAPL rose above 102.60 to 103.00",
  ]);
});
