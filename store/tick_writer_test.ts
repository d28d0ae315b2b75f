import assert from "node:assert/strict";
import { join } from "node:path";
import type { Tick } from "../schema/tick.ts";
import { spawnApp } from "../tests/app_process.ts";
import { dropStore, openTestStore } from "../tests/embedded_store.ts";
import { loadMigrations, migrate } from "./migrate.ts";
import type { Store } from "./store.ts";
import { BackpressureError, TickWriter } from "./tick_writer.ts";
import { readCheckpoint, writeCheckpoint } from "./wal.ts";
import { until } from "../tests/wait.ts";

const DAY = 86_400_000;
const BASE = Math.floor(Date.now() / DAY) * DAY - DAY;

function ticks(symbol: string, from: number, n: number): Tick[] {
  return Array.from({ length: n }, (_, i) => ({
    symbol,
    price: 100 + (from + i) / 100,
    priceRaw: Math.fround(100 + (from + i) / 100),
    time: BASE + from + i,
    source: "yahoo" as const,
    quoteType: "equity" as const,
    marketHours: "regular" as const,
    dayVolume: 1000 + from + i,
    bid: 99.5,
  }));
}

async function countOf(store: Store, symbol: string) {
  const [r] = await store.query<{ n: number; d: number }>(
    "SELECT count() AS n, uniqExact(time) AS d FROM ticks WHERE symbol = {s:String}",
    { s: symbol },
  );
  return r!;
}

/**
 * Rewinds the log's checkpoint to "one insert in flight" covering everything up to `end`, as if the process died
 * after sending the batch and before recording it, and opens the writer on it again.
 */
async function reopenWithPending(store: Store, dir: string, end: { segment: number; offset: number }) {
  await writeCheckpoint(dir, { stored: { segment: 0, offset: 0 }, pending: { start: { segment: 0, offset: 0 }, end } });
  return await TickWriter.open(store, dir, { flushIntervalMs: 60_000 });
}

async function withStore(fn: (store: Store, dir: string) => Promise<void>, migrated = true) {
  const store = await openTestStore();
  const dir = await Deno.makeTempDir({ prefix: "breadboard-wal-" });
  try {
    if (migrated) await migrate(store, await loadMigrations());
    await fn(store, dir);
  } finally {
    await dropStore(store);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("TickWriter stores appended ticks with their values once flushed", async () => {
  await withStore(async (store, dir) => {
    const writer = await TickWriter.open(store, dir, { flushIntervalMs: 60_000 });
    try {
      await writer.append(ticks("AAPL", 0, 3));
      await writer.flush();
      const rows = await store.query(
        `SELECT symbol, toUnixTimestamp64Milli(time) AS t, price, toFloat64(price_raw) AS price_raw, day_volume, bid, ask, source, quote_type,
                market_hours FROM ticks ORDER BY ticks.time`,
      );
      assert.equal(rows.length, 3);
      assert.deepEqual(rows[1], {
        symbol: "AAPL",
        t: BASE + 1,
        price: 100.01,
        price_raw: Math.fround(100.01),
        day_volume: 1001,
        bid: 99.5,
        ask: 0,
        source: "yahoo",
        quote_type: "equity",
        market_hours: "regular",
      });
      assert.equal(writer.stats().stored, 3);
    } finally {
      await writer.close();
    }
  });
});

Deno.test("TickWriter flushes on batch size without waiting for the interval", async () => {
  await withStore(async (store, dir) => {
    const writer = await TickWriter.open(store, dir, { batchRows: 100, flushIntervalMs: 60_000 });
    try {
      await writer.append(ticks("SIZE", 0, 250));
      await until(() => writer.stats().stored >= 250);
      assert.equal((await countOf(store, "SIZE")).n, 250);
      assert.ok(writer.stats().batches >= 3, `batches of at most 100 rows: ${writer.stats().batches}`);
    } finally {
      await writer.close();
    }
  });
});

Deno.test("TickWriter flushes on time when batches stay small", async () => {
  await withStore(async (store, dir) => {
    const writer = await TickWriter.open(store, dir, { batchRows: 100_000, flushIntervalMs: 50 });
    try {
      await writer.append(ticks("TIME", 0, 7));
      await until(async () => (await countOf(store, "TIME")).n === 7);
    } finally {
      await writer.close();
    }
  });
});

Deno.test("while the store refuses inserts ticks wait in the log, then land exactly once", async () => {
  await withStore(async (store, dir) => {
    const errors: string[] = [];
    // No migrations yet: the ticks table does not exist, so every insert fails like a store that is down.
    const writer = await TickWriter.open(store, dir, {
      batchRows: 1_000,
      flushIntervalMs: 20,
      retryMinMs: 20,
      onError: (e) => errors.push(String(e)),
    });
    try {
      await writer.append(ticks("DOWN", 0, 2_500));
      await until(() => writer.stats().failures >= 3);
      assert.equal(writer.stats().storeUp, false);
      assert.ok(writer.stats().backlogBytes > 0);
      assert.match(errors[0]!, /ticks/);
      await writer.append(ticks("DOWN", 2_500, 500));
      await migrate(store, await loadMigrations());
      await until(() => writer.stats().storeUp && writer.stats().backlogBytes === 0, 15_000);
      assert.deepEqual(await countOf(store, "DOWN"), { n: 3_000, d: 3_000 });
    } finally {
      await writer.close();
    }
  }, false);
});

Deno.test("TickWriter refuses appends with BackpressureError once the backlog is full", async () => {
  await withStore(async (store, dir) => {
    const writer = await TickWriter.open(store, dir, {
      flushIntervalMs: 20,
      retryMinMs: 20,
      maxBacklogBytes: 50_000,
    });
    try {
      let accepted = 0;
      let refused = 0;
      for (let i = 0; i < 100; i++) {
        try {
          void writer.append(ticks("FULL", i * 10, 10));
          accepted += 10;
        } catch (err) {
          assert.ok(err instanceof BackpressureError);
          refused++;
        }
      }
      assert.ok(refused > 0 && accepted > 0, `accepted ${accepted}, refused ${refused} batches`);
      assert.equal(writer.writable, false);
      assert.equal(writer.stats().appended, accepted);
    } finally {
      await writer.close();
    }
  }, false);
});

Deno.test("a torn last line in the log is cut off on open; whole lines are kept", async () => {
  await withStore(async (store, dir) => {
    const first = await TickWriter.open(store, dir, { flushIntervalMs: 60_000 });
    await first.append(ticks("TORN", 0, 5));
    // Stop without flushing, as a crash would: close the log by hand so the 5 lines are on disk, unflushed.
    await first.close();
    await store.exec("TRUNCATE TABLE ticks");
    await Deno.writeTextFile(join(dir, "000000000000.wal"), '{"symbol":"TORN","time":', { append: true });
    const second = await TickWriter.open(store, dir, { flushIntervalMs: 60_000 });
    try {
      await second.flush();
      // The first writer's close inserted the 5 rows before the TRUNCATE; the log was then already stored, so the
      // reopened writer must not insert anything from the torn line.
      assert.equal((await countOf(store, "TORN")).n, 0);
      const wal = await Deno.readTextFile(join(dir, "000000000000.wal"));
      assert.ok(wal.endsWith("\n"), "torn tail removed");
      await second.append(ticks("TORN", 5, 2));
      await second.flush();
      assert.equal((await countOf(store, "TORN")).n, 2);
    } finally {
      await second.close();
    }
  });
});

Deno.test("a batch inserted just before a crash is sent again after restart and stored once", async () => {
  await withStore(async (store, dir) => {
    const first = await TickWriter.open(store, dir, { flushIntervalMs: 60_000 });
    await first.append(ticks("ONCE", 0, 400));
    await first.flush();
    await first.close();
    const done = await readCheckpoint(dir);
    // Rewind the checkpoint to "insert in flight", as if the process died after ClickHouse took the batch but
    // before the checkpoint said so.
    const second = await reopenWithPending(store, dir, done.stored);
    try {
      await second.flush();
      assert.deepEqual(await countOf(store, "ONCE"), { n: 400, d: 400 });
      assert.equal(second.stats().stored, 400, "the batch was re-sent, and the store dropped the copy");
    } finally {
      await second.close();
    }
  });
});

Deno.test("after kill -9 mid-stream every accepted tick is in ClickHouse exactly once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-crash-" });
  try {
    let from = 0;
    for (let round = 0; round < 3; round++) {
      const producer = spawnApp({}, "tests/fixtures/tick_writer_crash.ts", ["produce", dataDir, String(from)]);
      const lastAccepted = () => Number(producer.stdout.findLast((l) => l.startsWith("accepted "))?.split(" ")[1] ?? 0);
      let exited: string | undefined;
      void producer.finished.then((r) => (exited = `exit ${r.code}: ${r.stderr.slice(-500)}`));
      // Kill at a different point of the flush cycle each round.
      await until(
        () => exited !== undefined || lastAccepted() >= from + 12_000 + round * 5_500,
        120_000,
        `round ${round} progress`,
      );
      assert.equal(exited, undefined, "the producer stopped on its own");
      producer.child.kill("SIGKILL");
      await producer.finished;
      const accepted = lastAccepted();
      const verify = spawnApp({}, "tests/fixtures/tick_writer_crash.ts", [
        "verify",
        dataDir,
        String(from),
        String(accepted),
      ]);
      const { code, stderr } = await verify.finished;
      assert.equal(code, 0, stderr);
      const counts = JSON.parse(verify.stdout.at(-1)!);
      assert.equal(counts.n, counts.distinct, `no tick stored twice (round ${round}): ${JSON.stringify(counts)}`);
      assert.equal(
        counts.inRange,
        accepted - from,
        `every tick accepted in round ${round} stored: ${JSON.stringify(counts)}`,
      );
      // The killed process may have logged ticks after its last report; the next round starts past all of them.
      from = counts.hi + 1;
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a batch whose token the engine kept but whose rows it lost is sent again under a new token after restart", async () => {
  await withStore(async (store, dir) => {
    const first = await TickWriter.open(store, dir, { flushIntervalMs: 60_000 });
    await first.append(ticks("LOST", 0, 400));
    await first.flush();
    await first.close();
    const done = await readCheckpoint(dir);
    // The engine remembers the batch's token but no longer has its rows: what a kill between the token record and
    // the part's commit leaves behind. Sending the same token again is dropped.
    await store.exec("ALTER TABLE ticks DELETE WHERE symbol = 'LOST' SETTINGS mutations_sync = 2");
    const wal = await Deno.readFile(join(dir, "000000000000.wal"));
    const id = (await Deno.readTextFile(join(dir, "id"))).trim();
    await store.insertJsonEachRow("ticks", wal, { dedupToken: `${id}:0:0-${done.stored.offset}` });
    assert.equal((await countOf(store, "LOST")).n, 0, "the engine drops a token it has seen");
    const second = await reopenWithPending(store, dir, done.stored);
    try {
      await second.flush();
      assert.deepEqual(await countOf(store, "LOST"), { n: 400, d: 400 });
    } finally {
      await second.close();
    }
  });
});
