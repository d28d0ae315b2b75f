import assert from "node:assert/strict";
import { tickSchema } from "../schema/tick.ts";
import { createMassiveDecoder, MASSIVE_REJECT_REASONS } from "./massive_decode.ts";

// Wednesday 2026-11-18 10:30 New York (15:30 UTC): regular session.
const T = Date.UTC(2026, 10, 18, 15, 30);
const decoder = () => createMassiveDecoder({ now: () => T + 60_000 });

Deno.test("Massive trades and per-second aggregates become ticks of the one Tick shape", () => {
  const d = decoder();
  const [trade, agg] = d.decode(JSON.stringify([
    { ev: "T", sym: "MSFT", x: 4, i: "12345", z: 3, p: 414.125, s: 100, c: [14, 41], t: T, q: 3681328 },
    {
      ev: "A",
      sym: "MSFT",
      v: 200,
      av: 8642007,
      op: 410.5,
      vw: 414.1,
      o: 414,
      c: 414.2,
      h: 414.3,
      l: 413.9,
      a: 412,
      z: 50,
      s: T,
      e: T + 1000,
    },
  ]));
  assert.equal(trade?.kind, "tick");
  assert.equal(agg?.kind, "tick");
  if (trade?.kind !== "tick" || agg?.kind !== "tick") return;
  assert.deepEqual(trade.tick, {
    symbol: "MSFT",
    price: 414.125,
    time: T,
    source: "massive",
    quoteType: "equity",
    marketHours: "regular",
    currency: "USD",
    lastSize: 100,
    exchange: "FINY",
  });
  assert.deepEqual(agg.tick, {
    symbol: "MSFT",
    price: 414.2,
    time: T + 1000,
    source: "massive",
    quoteType: "equity",
    marketHours: "regular",
    currency: "USD",
    dayVolume: 8642007,
    openPrice: 410.5,
  });
  assert.ok(tickSchema.safeParse(trade.tick).success);
  assert.ok(tickSchema.safeParse(agg.tick).success);
});

Deno.test("Massive decoder keeps a running day volume so trades after an aggregate carry it", () => {
  const d = decoder();
  d.decode(JSON.stringify([{ ev: "A", sym: "AAPL", av: 1000, o: 1, h: 1, l: 1, c: 1, s: T, e: T + 1000 }]));
  const [t1] = d.decode(JSON.stringify([{ ev: "T", sym: "AAPL", p: 1.01, s: 30, t: T + 1100 }]));
  const [t2] = d.decode(JSON.stringify([{ ev: "T", sym: "AAPL", p: 1.02, s: 20, t: T + 1200 }]));
  // The next aggregate counts the same trades: the running total does not jump back or double.
  const [a2] = d.decode(
    JSON.stringify([{ ev: "A", sym: "AAPL", av: 1050, o: 1, h: 1, l: 1, c: 1.02, s: T + 1000, e: T + 2000 }]),
  );
  const vols = [t1, t2, a2].map((r) => r?.kind === "tick" ? r.tick.dayVolume : "reject");
  assert.deepEqual(vols, [1030, 1050, 1050]);
  // A trade for a symbol with no aggregate yet has its size but no day volume.
  const [other] = d.decode(JSON.stringify([{ ev: "T", sym: "TSLA", p: 300, s: 5, t: T }]));
  assert.ok(other?.kind === "tick" && other.tick.dayVolume === undefined && other.tick.lastSize === 5);
});

Deno.test("Massive decoder reports status events and skips unknown event kinds", () => {
  const r = decoder().decode(
    '[{"ev":"status","status":"auth_failed","message":"authentication failed"},{"ev":"LULD","T":"AAPL"}]',
  );
  assert.deepEqual(r, [
    { kind: "status", status: "auth_failed", message: "authentication failed" },
    { kind: "skip", what: "event LULD" },
  ]);
});

Deno.test("Massive decoder rejects each bad event by reason without spoiling the rest of its frame", () => {
  const d = decoder();
  assert.deepEqual(d.decode("not json").map((r) => r.kind === "reject" && r.reason), ["not_json"]);
  const frame = JSON.stringify([
    { ev: "T", sym: "AAPL", p: -1, s: 1, t: T },
    { ev: "T", sym: "../etc", p: 1, s: 1, t: T },
    { ev: "T", sym: "AAPL", p: 1, s: 1, t: T + 86_400_000 },
    { ev: "T", sym: "AAPL", p: "1", t: T },
    { ev: "A", sym: "AAPL", o: 1, h: 1, l: 2, c: 1, s: T, e: T },
    null,
    { ev: "T", sym: "AAPL", p: 190.5, s: 1, t: T, extra: { nested: true } },
  ]);
  const reasons = d.decode(frame).map((r) => r.kind === "reject" ? r.reason : r.kind);
  assert.deepEqual(reasons, ["bad_price", "bad_symbol", "bad_time", "bad_event", "bad_price", "bad_event", "tick"]);
});

Deno.test("Massive decoder survives thousands of random and mutated frames", () => {
  const d = decoder();
  const good = JSON.stringify([{ ev: "T", sym: "AAPL", p: 190.5, s: 10, t: T }, {
    ev: "A",
    sym: "AAPL",
    av: 10,
    o: 1,
    h: 2,
    l: 1,
    c: 2,
    s: T,
    e: T,
  }]);
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const counts = new Map<string, number>();
  for (let i = 0; i < 5_000; i++) {
    let frame: string;
    if (i % 2 === 0) {
      const chars = good.split("");
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
        chars[Math.floor(rand() * chars.length)] = String.fromCharCode(32 + Math.floor(rand() * 90));
      }
      frame = chars.join("");
    } else {
      frame = JSON.stringify([{
        ev: rand() < 0.5 ? "T" : "A",
        sym: rand() < 0.8 ? "AAPL" : "a b",
        p: rand() * 4 - 1,
        t: T,
      }]);
    }
    for (const r of d.decode(frame)) {
      const key = r.kind === "reject" ? r.reason : r.kind;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (r.kind === "tick") assert.ok(tickSchema.safeParse(r.tick).success, JSON.stringify(r.tick));
      if (r.kind === "reject") assert.ok((MASSIVE_REJECT_REASONS as readonly string[]).includes(r.reason));
    }
  }
  assert.ok((counts.get("tick") ?? 0) > 100, JSON.stringify([...counts]));
  assert.ok((counts.get("not_json") ?? 0) > 100, JSON.stringify([...counts]));
});

Deno.test("Massive trades that do not set the last price are skipped, their shares still counted", () => {
  const d = decoder();
  d.decode(JSON.stringify([{ ev: "A", sym: "IBM", o: 1, h: 1, l: 1, c: 250, av: 1_000, s: T - 1000, e: T }]));
  const [oddLot, formT, regular] = d.decode(JSON.stringify([
    { ev: "T", sym: "IBM", x: 12, p: 251.37, s: 7, c: [37], t: T + 1, z: 1 },
    { ev: "T", sym: "IBM", x: 4, p: 249.1, s: 100, c: [12, 37], t: T + 2, z: 1 },
    { ev: "T", sym: "IBM", x: 10, p: 250.5, s: 100, c: [14], t: T + 3, z: 1 },
  ]));
  assert.equal(oddLot?.kind, "skip");
  assert.equal(formT?.kind, "skip");
  assert.equal(regular?.kind, "tick");
  if (regular?.kind !== "tick") return;
  assert.equal(regular.tick.price, 250.5);
  assert.equal(regular.tick.exchange, "XNYS");
  assert.equal(regular.tick.dayVolume, 1_000 + 7 + 100 + 100, "odd lots and Form T shares count toward volume");
});

Deno.test("Massive quotes give the next trades their bid and ask; the previous close applies to its day only", () => {
  const d = createMassiveDecoder({ now: () => T + 2 * 86_400_000 });
  const [q] = d.decode(JSON.stringify([
    { ev: "Q", sym: "AAPL", bx: 11, bp: 228.1, bs: 3, ax: 12, ap: 228.14, as: 5, c: 1, i: [604], t: T, z: 3 },
  ]));
  assert.equal(q?.kind, "skip");
  const day = Date.UTC(2026, 10, 18);
  d.setPreviousClose("AAPL", day, 230);
  const [trade, tomorrow] = d.decode(JSON.stringify([
    { ev: "T", sym: "AAPL", x: 12, p: 228.12, s: 100, c: [14], t: T + 5, z: 3 },
    { ev: "T", sym: "AAPL", x: 12, p: 228.5, s: 100, t: T + 86_400_000 - 60_000, z: 3 },
  ]));
  assert.equal(trade?.kind, "tick");
  if (trade?.kind !== "tick") return;
  assert.deepEqual(
    [trade.tick.bid, trade.tick.bidSize, trade.tick.ask, trade.tick.askSize, trade.tick.previousClose],
    [228.1, 3, 228.14, 5, 230],
  );
  assert.ok(tickSchema.safeParse(trade.tick).success);
  assert.equal(tomorrow?.kind, "tick");
  if (tomorrow?.kind === "tick") assert.equal(tomorrow.tick.previousClose, undefined);
});
