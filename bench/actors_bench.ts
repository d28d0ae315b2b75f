/**
 * The actor system against a bare loop, and what 2,500 actors cost in memory.
 *
 * "actors": 25,000 ticks per iteration over 2,500 symbols, each symbol with three rules (a 5 % drop in 15 minutes, a
 * price level, a volume spike) plus the built-in day-change rule, through ActorSystem.tick, against the same ticks
 * through a loop that only sets a last-price map (baseline). Both loops move every tick's time forward by the same
 * step per pass, so the actors never see a stale tick.
 *
 * Memory: RSS and heap before the actors exist and after all 2,500 have been fed an hour of ticks (every 15 s), so
 * the 60-minute windows are full. Printed once at the start.
 */
import { AlertBus } from "../actors/alert_bus.ts";
import { RuleBook } from "../actors/rule_book.ts";
import { type ActorOutput, SymbolActor } from "../actors/symbol_actor.ts";
import { ActorSystem } from "../actors/system.ts";
import type { Tick } from "../schema/tick.ts";
import { openEmbeddedStore } from "../store/embedded.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";

const N = 2_500;
/** Declared memory budget for 2,500 actors' state (README). */
const BUDGET_MB = 64;
const SYMBOLS = Array.from({ length: N }, (_, i) => `S${i}`);
const dir = await Deno.makeTempDir({ prefix: "breadboard-actors-bench-" });
const store = await openEmbeddedStore({ path: dir, database: "bench" });
await migrate(store, await loadMigrations());
const kv = await Deno.openKv(":memory:");
const book = await RuleBook.open(kv, -5);
for (const s of SYMBOLS) {
  await book.put({ id: `drop-${s}`, symbol: s, kind: "pct_change", direction: "drop", percent: 5, window: "15m" });
  await book.put({ id: `level-${s}`, symbol: s, kind: "price_above", price: 150 });
  await book.put({ id: `spike-${s}`, symbol: s, kind: "volume_spike", factor: 5 });
}
const bus = new AlertBus();
let alerts = 0;
bus.subscribe(() => alerts++);

// The actors alone: 2,500 SymbolActors fed the same hour, nothing else allocated in between.
{
  collect();
  const b = Deno.memoryUsage();
  const bare = SYMBOLS.map((s) => new SymbolActor(s));
  const out: ActorOutput = { alerts: [], candles: [] };
  let t = Date.now() - 2 * 3_600_000;
  for (let step = 0; step < 240; step++) {
    t += 15_000;
    for (let i = 0; i < N; i++) {
      const tick: Tick = {
        symbol: SYMBOLS[i]!,
        time: t,
        price: 100 + Math.sin(step / 9 + i) * 4,
        lastSize: 100,
        source: "synthetic",
        quoteType: "equity",
        marketHours: "regular",
      };
      bare[i]!.onTick(tick, [], out, 0);
    }
    out.candles.length = 0;
  }
  collect();
  const a = Deno.memoryUsage();
  const bytes = a.heapUsed + a.external - b.heapUsed - b.external;
  console.log(
    `actor state: ${(bytes / N / 1024).toFixed(1)} KiB per actor, ${
      (bytes / 1024 / 1024).toFixed(1)
    } MB for ${bare.length} ` +
      `(budget ${BUDGET_MB} MB: ${bytes / 1024 / 1024 <= BUDGET_MB ? "within" : "OVER"})`,
  );
}

collect();
const before = Deno.memoryUsage();
// The actors' output is not what this measures: a writer that takes rows and drops them.
const writer = { candles: { append: () => Promise.resolve() }, alerts: { append: () => Promise.resolve() } };
const system = new ActorSystem({ kv, store, writer, rules: book, bus, checkpointMs: 3_600_000 });
await system.activate(SYMBOLS);
let clock = Date.now() - 2 * 3_600_000;
const warm: Tick = {
  symbol: "",
  time: 0,
  price: 100,
  source: "synthetic",
  quoteType: "equity",
  marketHours: "regular",
};
for (let step = 0; step < 240; step++) {
  clock += 15_000;
  for (let i = 0; i < N; i++) {
    system.tick({ ...warm, symbol: SYMBOLS[i]!, time: clock, price: 100 + Math.sin(step / 9 + i) * 4, lastSize: 100 });
  }
}
await system.checkpoint(); // closes and writes the hour's candles
collect();
const after = Deno.memoryUsage();
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
const js = after.heapUsed + after.external - before.heapUsed - before.external;
console.log(
  `2,500 actors with full 60-minute windows: JS heap + typed arrays +${mb(js)} MB (${(js / N / 1024).toFixed(1)} KiB ` +
    `per actor); process RSS +${mb(after.rss - before.rss)} MB to ${mb(after.rss)} MB (embedded ClickHouse included)`,
);

const PASS = 25_000;
const ticks: Tick[] = Array.from({ length: PASS }, (_, i) => ({
  ...warm,
  symbol: SYMBOLS[i % N]!,
  time: clock + Math.floor(i / N) * 100,
  price: 100 + Math.sin(i) * 3,
  lastSize: 50,
}));
const STEP = 1_000;
const last = new Map<string, number>();

Deno.bench({ name: "bare loop: last-price map x25,000", group: "actors", baseline: true }, () => {
  for (const t of ticks) {
    t.time += STEP;
    last.set(t.symbol, t.price);
  }
});

Deno.bench({ name: "actor system: 2,500 symbols, 3 rules each x25,000", group: "actors" }, () => {
  for (const t of ticks) {
    t.time += STEP;
    system.tick(t);
  }
});

globalThis.addEventListener("unload", () => {
  console.log(`alerts published during the run: ${alerts}; actor stats: ${JSON.stringify(system.stats().ticks)}`);
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (err) {
    console.error(`could not remove ${dir}: ${err}`);
  }
});

/** A full garbage collection when V8 exposes it (the bench task passes --expose-gc), so RSS deltas are live data. */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
