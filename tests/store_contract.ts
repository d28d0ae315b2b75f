/**
 * The store contract: what every driver must do against a real ClickHouse with the full schema (26.x features:
 * DateTime64, codecs, TTL). Run by store/embedded_test.ts on chDB in every run, and by store/http_test.ts on any
 * CLICKHOUSE_URL a test run is given.
 */
import assert from "node:assert/strict";
import { loadMigrations, migrate, MigrationError } from "../store/migrate.ts";
import { type Store, StoreError } from "../store/store.ts";

/** A row of ticks for `symbol` at epoch ms `time`. */
export function tickRow(symbol: string, time: number, price: number, extra: Record<string, unknown> = {}) {
  return {
    symbol,
    time,
    price,
    price_raw: price,
    change: 0,
    change_percent: 0,
    day_volume: 1000 + time % 1000,
    source: "test",
    ...extra,
  };
}

const HOSTILE = "X'); DROP TABLE ticks;--";
const DAY = 86_400_000;

/** Registers the contract as steps of `t` on `store`, which must hold an empty database. */
export async function storeContract(t: Deno.TestContext, store: Store): Promise<void> {
  await t.step("ping answers", async () => {
    await store.ping();
  });

  await t.step("typed parameters round-trip every common type", async () => {
    const when = new Date(Date.UTC(2024, 2, 15, 13, 30, 5, 123));
    const [row] = await store.query<Record<string, unknown>>(
      `SELECT {s:String} AS s, {n:UInt32} AS n, {i:Int64} AS i, {f:Float64} AS f, {b:Bool} AS b,
              toUnixTimestamp64Milli({t:DateTime64(3, 'UTC')}) AS t, {a:Array(String)} AS a, {z:Nullable(String)} AS z`,
      {
        s: "héllo 'q' \\ \"d\"",
        n: 4_000_000_000,
        i: -9_000_000_000n,
        f: 1.25,
        b: true,
        t: when,
        a: ["x", "y'"],
        z: null,
      },
    );
    assert.deepEqual(row, {
      s: "héllo 'q' \\ \"d\"",
      n: 4_000_000_000,
      i: -9_000_000_000,
      f: 1.25,
      b: true,
      t: when.getTime(),
      a: ["x", "y'"],
      z: null,
    });
  });

  await t.step(
    "a placeholder without a value, or a value without a placeholder, is refused before sending",
    async () => {
      await assert.rejects(store.query("SELECT {a:UInt8} AS a"), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.match(e.message, /missing parameter \{a\}/);
        return true;
      });
      await assert.rejects(store.query("SELECT 1 AS a", { a: 1 }), /parameter a has no \{a:Type\} placeholder/);
    },
  );

  await t.step("migrations apply in order, are recorded, and a second run applies nothing", async () => {
    const migrations = await loadMigrations();
    assert.ok(migrations.length >= 5);
    const first = await migrate(store, migrations);
    assert.deepEqual(first.applied, migrations.map((m) => m.name));
    const recorded = await store.query<{ version: number; name: string }>(
      "SELECT version, name FROM schema_migrations FINAL ORDER BY version",
    );
    assert.deepEqual(recorded.map((r) => r.name), migrations.map((m) => m.name));
    const second = await migrate(store, migrations);
    assert.deepEqual(second.applied, []);
    assert.equal(second.skipped.length, migrations.length);
    const tables = await store.query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name",
    );
    for (const name of ["alerts", "candles_1d", "candles_1m", "job_runs", "schema_migrations", "ticks"]) {
      assert.ok(tables.some((x) => x.name === name), `table ${name} exists`);
    }
  });

  await t.step("a migration file edited after it was applied stops the run with its name", async () => {
    const migrations = await loadMigrations();
    const edited = migrations.map((m, i) => i === 1 ? { ...m, checksum: "0".repeat(64) } : m);
    await assert.rejects(migrate(store, edited), (e: unknown) => {
      assert.ok(e instanceof MigrationError);
      assert.equal(e.migration, migrations[1]!.name);
      assert.match(e.message, /was changed after it was applied/);
      return true;
    });
  });

  await t.step("ticks keep 90 days by daily partition, ordered by (symbol, time), with codecs", async () => {
    const [table] = await store.query<{ create: string; sorting_key: string; partition_key: string }>(
      `SELECT create_table_query AS create, sorting_key, partition_key FROM system.tables
        WHERE database = currentDatabase() AND name = 'ticks'`,
    );
    assert.ok(table);
    assert.equal(table.sorting_key, "symbol, time");
    assert.equal(table.partition_key, "toDate(time)");
    assert.match(table.create, /TTL toDateTime\(time\) \+ toIntervalDay\(90\)/);
    const cols = await store.query<{ name: string; type: string; compression_codec: string }>(
      `SELECT name, type, compression_codec FROM system.columns
        WHERE database = currentDatabase() AND table = 'ticks' ORDER BY position`,
    );
    const byName = new Map(cols.map((c) => [c.name, c]));
    assert.equal(byName.get("time")?.type, "DateTime64(3, 'UTC')");
    assert.equal(byName.get("symbol")?.type, "LowCardinality(String)");
    assert.equal(byName.get("price")?.type, "Float64");
    assert.match(byName.get("time")!.compression_codec, /DoubleDelta/);
    assert.match(byName.get("price")!.compression_codec, /Gorilla/);
  });

  await t.step("ticks older than 90 days expire; younger ones stay", async () => {
    const now = Date.now();
    await store.insert("ticks", [tickRow("TTL", now - 91 * DAY, 1), tickRow("TTL", now - 89 * DAY, 2)]);
    await store.exec("OPTIMIZE TABLE ticks FINAL");
    const rows = await store.query<{ price: number }>("SELECT price FROM ticks WHERE symbol = 'TTL'");
    assert.deepEqual(rows, [{ price: 2 }]);
  });

  await t.step("a hostile symbol is stored and read back as the same string, and ticks survives it", async () => {
    const time = Math.floor(Date.now() / 1000) * 1000 - DAY + 123;
    await store.insert("ticks", [tickRow(HOSTILE, time, 307.2)]);
    const rows = await store.query<{ symbol: string; time: number; price: number }>(
      "SELECT symbol, toUnixTimestamp64Milli(time) AS time, price FROM ticks WHERE symbol = {s:String}",
      { s: HOSTILE },
    );
    assert.deepEqual(rows, [{ symbol: HOSTILE, time, price: 307.2 }]);
    const [count] = await store.query<{ n: number }>("SELECT count() AS n FROM ticks WHERE symbol = {s:String}", {
      s: HOSTILE,
    });
    assert.equal(count?.n, 1);
  });

  await t.step("5,000 ticks go in as one insert and a one-symbol range reads back exactly its rows", async () => {
    const base = Date.now() - 2 * DAY;
    const rows = [];
    for (let i = 0; i < 5000; i++) {
      rows.push(tickRow(i % 2 === 0 ? "AAPL" : "MSFT", base + i * 7, 100 + i / 100));
    }
    await store.insert("ticks", rows);
    const from = base + 1000 * 7;
    const to = base + 2000 * 7;
    const got = await store.query<{ time: number; price: number }>(
      `SELECT toUnixTimestamp64Milli(time) AS time, price FROM ticks
        WHERE symbol = {s:String} AND ticks.time >= fromUnixTimestamp64Milli({from:Int64})
          AND ticks.time < fromUnixTimestamp64Milli({to:Int64})
        ORDER BY time`,
      { s: "AAPL", from, to },
    );
    const want = rows.filter((r) => r.symbol === "AAPL" && r.time >= from && r.time < to)
      .map((r) => ({ time: r.time, price: r.price }));
    assert.equal(got.length, 500);
    assert.deepEqual(got, want);
  });

  await t.step("a tick batch re-sent with the same deduplication token is stored once", async () => {
    const t0 = Date.now() - DAY;
    const rows = [tickRow("DEDUP", t0, 10), tickRow("DEDUP", t0 + 1, 11)];
    await store.insert("ticks", rows, { dedupToken: "wal-segment-7-batch-3" });
    await store.insert("ticks", rows, { dedupToken: "wal-segment-7-batch-3" });
    await store.insert("ticks", rows, { dedupToken: "wal-segment-7-batch-4" });
    const [c] = await store.query<{ n: number }>("SELECT count() AS n FROM ticks WHERE symbol = 'DEDUP'");
    assert.equal(c?.n, 4, "the replayed batch is dropped, a different batch with equal rows is kept");
  });

  await t.step("re-inserting a one-minute candle replaces it instead of counting it twice", async () => {
    const t0 = Date.UTC(2026, 10, 20, 15, 0);
    const candle = {
      symbol: "AAPL",
      time: t0,
      open: 10,
      high: 12,
      low: 9,
      close: 11,
      volume: 500,
      vwap: 10.6,
      trades: 40,
    };
    await store.insert("candles_1m", [{ ...candle, source: "live", version: 1 }]);
    await store.insert("candles_1m", [{ ...candle, close: 11.5, volume: 520, source: "yahoo", version: 2 }]);
    await store.insert("candles_1m", [{ ...candle, time: t0 + 60_000, source: "live", version: 1 }]);
    const rows = await store.query<{ time: number; close: number; volume: number; source: string }>(
      `SELECT toUnixTimestamp64Milli(time) AS time, close, volume, source FROM candles_1m FINAL
        WHERE symbol = {s:String} ORDER BY time`,
      { s: "AAPL" },
    );
    assert.deepEqual(rows, [
      { time: t0, close: 11.5, volume: 520, source: "yahoo" },
      { time: t0 + 60_000, close: 11, volume: 500, source: "live" },
    ]);
    const [sum] = await store.query<{ v: number }>("SELECT sum(volume) AS v FROM candles_1m FINAL");
    assert.equal(sum?.v, 1020);
  });

  await t.step("re-inserting a daily candle replaces it too", async () => {
    const day = {
      symbol: "MSFT",
      time: "2024-05-01",
      open: 1,
      high: 2,
      low: 0.5,
      close: 1.5,
      adj_close: 1.5,
      volume: 9,
    };
    await store.insert("candles_1d", [{ ...day, source: "yahoo", version: 1 }]);
    await store.insert("candles_1d", [{ ...day, source: "yahoo", version: 1 }]);
    await store.insert("candles_1d", [{ ...day, volume: 10, source: "yahoo", version: 2 }]);
    const rows = await store.query<{ time: string; volume: number }>(
      "SELECT toString(time) AS time, volume FROM candles_1d FINAL WHERE symbol = {s:String}",
      { s: "MSFT" },
    );
    assert.deepEqual(rows, [{ time: "2024-05-01", volume: 10 }]);
  });

  await t.step("an alert written twice with its deterministic id is kept once", async () => {
    const alert = {
      id: "drop-15m:AAPL:1763650800000",
      time: 1_763_650_800_000,
      symbol: "AAPL",
      rule_id: "r1",
      user_id: "u1",
      kind: "drop",
      window: "15m",
      message: "AAPL fell 5.2% in 15 min to 291.40",
      price: 291.4,
      change_percent: -5.2,
    };
    await store.insert("alerts", [alert]);
    await store.insert("alerts", [alert]);
    const rows = await store.query<{ id: string; message: string }>("SELECT id, message FROM alerts FINAL");
    assert.deepEqual(rows, [{ id: alert.id, message: alert.message }]);
  });

  await t.step("engine errors come back as StoreError with ClickHouse's code", async () => {
    await assert.rejects(store.query("SELECT * FROM no_such_table"), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, 60);
      assert.match(e.message, /no_such_table/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    await assert.rejects(store.exec("SELEC 1"), (e: unknown) => e instanceof StoreError && e.code === 62);
    await assert.rejects(
      store.insert("ticks", [{ symbol: "A", time: "not a time", price: 1 }]),
      (e: unknown) => e instanceof StoreError && e.code !== undefined,
    );
  });

  await t.step("a table name that is not an identifier is refused", async () => {
    await assert.rejects(store.insert("ticks; DROP TABLE ticks", [{ a: 1 }]), /invalid table name/);
  });
}
