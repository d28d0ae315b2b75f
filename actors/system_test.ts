import assert from "node:assert/strict";
import type { Alert } from "../schema/alert.ts";
import type { Tick } from "../schema/tick.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";
import { dropStore, openTestStore } from "../tests/embedded_store.ts";
import { until } from "../tests/wait.ts";
import { AlertBus } from "./alert_bus.ts";
import { keys } from "./keys.ts";
import { RuleBook } from "./rule_book.ts";
import { ActorSystem } from "./system.ts";
import { StoreWriter } from "../store/writer.ts";
import type { Logger } from "../schema/log.ts";
import { commitFaults } from "../tests/kv_faults.ts";

const tick = (symbol: string, time: number, price: number): Tick => ({
  symbol,
  time,
  price,
  source: "yahoo",
  quoteType: "equity",
  marketHours: "regular",
  lastSize: 10,
});

async function setup(opts: { idleMs?: number; now?: () => number; log?: Logger } = {}) {
  const store = await openTestStore();
  await migrate(store, await loadMigrations());
  const kv = await Deno.openKv(":memory:");
  const rules = await RuleBook.open(kv, -5);
  const bus = new AlertBus();
  const alerts: Alert[] = [];
  bus.subscribe((a) => alerts.push(a));
  const walDir = await Deno.makeTempDir({ prefix: "breadboard-actors-wal-" });
  const writer = await StoreWriter.open(store, `${walDir}/wal`);
  const system = new ActorSystem({ kv, store, writer, rules, bus, checkpointMs: 3_600_000, ...opts });
  return {
    store,
    /** A checkpoint, then the writer's inserts: what the checkpoint logged is in the store. */
    async stored() {
      await system.checkpoint();
      await writer.flush();
    },
    kv,
    rules,
    system,
    alerts,
    async [Symbol.asyncDispose]() {
      await system.stop();
      await writer.close();
      await Deno.remove(walDir, { recursive: true });
      rules.close();
      kv.close();
      await dropStore(store);
    },
  };
}

Deno.test("ActorSystem keeps each symbol's ticks in order while its actor loads, and writes closed candles", async () => {
  await using s = await setup();
  const t0 = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
  // The first ticks arrive while the actors are still loading (a KV read and a ClickHouse replay): they queue.
  for (let i = 0; i < 120; i++) {
    s.system.tick(tick("AAA", t0 + i * 1_000, 100 + i));
    s.system.tick(tick("BBB", t0 + i * 1_000, 50 - i / 10));
  }
  assert.equal(s.system.stats().ticks.applied, 0);
  await until(() => s.system.stats().ticks.applied === 240);
  assert.equal(s.system.stats().ticks.out_of_order, 0);
  assert.equal(s.system.actor("AAA")!.quote!.price, 219);
  await s.stored();
  const rows = await s.store.query<{ symbol: string; n: number; close: number }>(
    "SELECT symbol, count() AS n, argMax(close, time) AS close FROM candles_1m FINAL GROUP BY symbol ORDER BY symbol",
  );
  assert.deepEqual(rows.map((r) => [r.symbol, Number(r.n), r.close]), [["AAA", 1, 159], ["BBB", 1, 44.1]]);
});

Deno.test("ActorSystem passivates idle actors to KV and wakes them with their state on the next tick", async () => {
  let clock = Date.now();
  await using s = await setup({ idleMs: 60_000, now: () => clock });
  const t0 = clock - 5 * 60_000;
  s.system.tick(tick("IDLE", t0, 10));
  await until(() => s.system.actor("IDLE") !== undefined);
  s.system.tick(tick("IDLE", t0 + 1_000, 12));
  clock += 61_000;
  await s.system.checkpoint();
  assert.equal(s.system.actor("IDLE"), undefined, "passivated");
  assert.equal(s.system.stats().passivated, 1);
  const snap = await s.kv.get<{ lastPrice: number }>(keys.actor("live", "IDLE"));
  assert.equal(snap.value?.lastPrice, 12);
  s.system.tick(tick("IDLE", t0 + 2_000, 11));
  await until(() => s.system.actor("IDLE") !== undefined);
  const w = s.system.actor("IDLE")!.windowStats()["5m"]!;
  assert.deepEqual([w.first, w.high, w.low, w.last, w.ticks], [10, 12, 10, 11, 3], "the window survived passivation");
});

Deno.test("ActorSystem: a snapshot the KV refuses keeps the actor, dirty, and the next checkpoint saves it", async () => {
  let clock = Date.now();
  const warned: string[] = [];
  await using s = await setup({ idleMs: 60_000, now: () => clock, log: (_level, msg) => warned.push(msg) });
  const faults = commitFaults(s.kv);
  const t0 = clock - 5 * 60_000;
  s.system.tick(tick("LOCK", t0, 10));
  s.system.tick(tick("LOCK", t0 + 1_000, 12));
  await until(() => s.system.stats().ticks.applied === 2);
  clock += 61_000;
  // The next commit fails as it does while processes sharing the KV file hold its lock.
  faults.fail(1);
  await s.system.checkpoint();
  assert.deepEqual(warned, ["actor snapshot not saved; retrying at the next checkpoint"]);
  assert.equal(s.system.actor("LOCK")?.dirty, true, "kept, with its state, for the next checkpoint");
  assert.equal((await s.kv.get(keys.actor("live", "LOCK"))).value, null);
  await s.system.checkpoint();
  assert.equal(s.system.actor("LOCK"), undefined, "saved, then passivated");
  const snap = await s.kv.get<{ lastPrice: number }>(keys.actor("live", "LOCK"));
  assert.equal(snap.value?.lastPrice, 12);
});

Deno.test("ActorSystem publishes an alert once and a rule saved at run time applies to the next tick", async () => {
  await using s = await setup();
  const t0 = Date.now() - 60_000;
  s.system.tick({ ...tick("DROP", t0, 100), previousClose: 100 });
  s.system.tick(tick("DROP", t0 + 1_000, 94)); // the built-in day-change rule: -6 %
  await until(() => s.alerts.length === 1);
  assert.equal(s.alerts[0]!.message, "DROP is down 6.0% today at 94.00");
  await s.rules.put({ id: "above-95", symbol: "DROP", kind: "price_above", price: 95, cooldownMs: 0 });
  s.system.tick(tick("DROP", t0 + 2_000, 96)); // first reading of the new rule: already above, no crossing
  s.system.tick(tick("DROP", t0 + 3_000, 94));
  s.system.tick(tick("DROP", t0 + 4_000, 95.5));
  await until(() => s.alerts.length === 2);
  assert.equal(s.alerts[1]!.message, "DROP rose above 95.00 to 95.50");
  await s.stored();
  const stored = await s.store.query<{ id: string }>("SELECT id FROM alerts FINAL ORDER BY time");
  assert.deepEqual(stored.map((r) => r.id), s.alerts.map((a) => a.id));
});

Deno.test("a once-only rule fires once, pauses itself in the rule book, and enabling it again re-arms it", async () => {
  await using s = await setup();
  const t0 = Date.now() - 60_000;
  await s.rules.put({
    id: "once-95",
    symbol: "ONCE",
    kind: "price_above",
    price: 95,
    trigger: "once",
    cooldownMs: 0,
    rearm: 0,
  });
  s.system.tick(tick("ONCE", t0, 90));
  s.system.tick(tick("ONCE", t0 + 1_000, 96)); // fires
  s.system.tick(tick("ONCE", t0 + 2_000, 90));
  s.system.tick(tick("ONCE", t0 + 3_000, 97)); // spent: a second crossing is silent
  await until(() => s.rules.get("once-95")?.enabled === false, 10_000, "the rule paused itself");
  assert.deepEqual(s.alerts.filter((a) => a.ruleId === "once-95").map((a) => a.price), [96]);
  const stored = await s.kv.get<{ enabled: boolean }>(keys.rule("once-95"));
  assert.equal(stored.value?.enabled, false, "paused in KV, where every instance and the Alerts page read it");
  await s.rules.put({ ...s.rules.get("once-95")!, enabled: true });
  s.system.tick(tick("ONCE", t0 + 4_000, 90)); // the resumed rule's first reading
  s.system.tick(tick("ONCE", t0 + 5_000, 98));
  await until(() => s.alerts.filter((a) => a.ruleId === "once-95").length === 2, 10_000, "fires again once resumed");
  assert.equal(s.alerts.at(-1)!.price, 98);
});
