import assert from "node:assert/strict";
import { dropStore, openTestStore, sharedChdbPath } from "../tests/embedded_store.ts";
import { storeContract } from "../tests/store_contract.ts";
import { openEmbeddedStore } from "./embedded.ts";
import { loadMigrations, migrate, MigrationError } from "./migrate.ts";
import { StoreError } from "./store.ts";

Deno.test("embedded store (chDB) meets the store contract", async (t) => {
  const store = await openTestStore();
  try {
    assert.equal(store.driver, "embedded");
    await storeContract(t, store);
  } finally {
    await dropStore(store);
  }
});

Deno.test("embedded store keeps the event loop running during a long query", async () => {
  const store = await openTestStore();
  try {
    let fired = 0;
    const timer = setInterval(() => fired++, 5);
    const started = performance.now();
    await store.query("SELECT max(sipHash64(number)) AS m FROM numbers(30000000)");
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A blocking call would let no interval run until it returned.
    assert.ok(elapsed > 50, `query should take measurable time (took ${elapsed.toFixed(0)} ms)`);
    assert.ok(fired >= Math.floor(elapsed / 5 / 4), `timer fired ${fired} times in ${elapsed.toFixed(0)} ms`);
  } finally {
    await dropStore(store);
  }
});

Deno.test("embedded store refuses a second data directory in one process", async () => {
  const store = await openTestStore();
  try {
    await assert.rejects(
      openEmbeddedStore({ path: `${sharedChdbPath()}-other`, database: "x" }),
      (e: unknown) => e instanceof StoreError && /one process holds one data directory/.test(e.message),
    );
  } finally {
    await dropStore(store);
  }
});

Deno.test("embedded stores on two databases in one process do not see each other's tables", async () => {
  const a = await openTestStore();
  const b = await openTestStore();
  try {
    await a.exec("CREATE TABLE only_a (x UInt8) ENGINE = Memory");
    await Promise.all([
      a.insert("only_a", [{ x: 1 }]),
      assert.rejects(b.query("SELECT * FROM only_a"), (e: unknown) => e instanceof StoreError && e.code === 60),
    ]);
    assert.deepEqual(await a.query("SELECT x FROM only_a"), [{ x: 1 }]);
  } finally {
    await dropStore(a);
    await dropStore(b);
  }
});

Deno.test("a failing migration stops the run with its name and later migrations are not applied", async () => {
  const store = await openTestStore();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/001_good.sql`, "CREATE TABLE IF NOT EXISTS good (x UInt8) ENGINE = Memory;");
    await Deno.writeTextFile(
      `${dir}/002_broken.sql`,
      "CREATE TABLE IF NOT EXISTS bad (x UInt8) ENGINE = NoSuchEngine;",
    );
    await Deno.writeTextFile(`${dir}/003_later.sql`, "CREATE TABLE IF NOT EXISTS later (x UInt8) ENGINE = Memory;");
    await assert.rejects(migrate(store, await loadMigrations(dir)), (e: unknown) => {
      assert.ok(e instanceof MigrationError);
      assert.equal(e.migration, "002_broken.sql");
      assert.match(e.message, /^migration 002_broken\.sql failed at statement 1: /);
      return true;
    });
    const recorded = await store.query<{ name: string }>("SELECT name FROM schema_migrations FINAL ORDER BY version");
    assert.deepEqual(recorded.map((r) => r.name), ["001_good.sql"]);
    const tables = await store.query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN ('good', 'later')",
    );
    assert.deepEqual(tables.map((r) => r.name), ["good"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await dropStore(store);
  }
});

Deno.test("migration files with duplicate numbers are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/001_a.sql`, "SELECT 1;");
    await Deno.writeTextFile(`${dir}/001_b.sql`, "SELECT 2;");
    await Deno.writeTextFile(`${dir}/notes.txt`, "ignored");
    await assert.rejects(loadMigrations(dir), /migration 001_b\.sql has the same number as 001_a\.sql/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
