import assert from "node:assert/strict";
import { type ClickHouseServer, startClickHouseServer } from "../tests/clickhouse_server.ts";
import { uniqueDatabase } from "../tests/embedded_store.ts";
import { freePort } from "../tests/free_port.ts";
import { storeContract } from "../tests/store_contract.ts";
import { openHttpStore } from "./http.ts";
import { type Store, StoreError } from "./store.ts";

// Debian's clickhouse-server is 18.16: no DateTime64, codecs or TTL, and no query parameters. It tests the transport;
// the full schema runs on chDB in every run and on any CLICKHOUSE_URL a run is given (below).
Deno.test("http store speaks to a real clickhouse-server", async (t) => {
  let server: ClickHouseServer | undefined;
  let store: Store | undefined;
  try {
    server = await startClickHouseServer();
    const url = server.url;
    store = await openHttpStore({ url, user: "default", password: "", database: uniqueDatabase("http") });
    const s = store;

    await t.step("ping answers and reports the server it reached", async () => {
      await s.ping();
      assert.equal(s.driver, "http");
      assert.match(server!.version, /^\d+\.\d+/);
    });

    await t.step("the database is created and selected for unqualified names", async () => {
      const [row] = await s.query<{ d: string }>("SELECT currentDatabase() AS d");
      assert.equal(row?.d, s.database);
    });

    await t.step("rows go in and come out as JSONEachRow, values intact", async () => {
      await s.exec(
        "CREATE TABLE quotes (day Date, symbol String, price Float64, volume UInt64) ENGINE = MergeTree ORDER BY (symbol, day)",
      );
      const hostile = "X'); DROP TABLE quotes;--";
      const rows = Array.from({ length: 1000 }, (_, i) => ({
        day: `2024-01-${String(1 + (i % 28)).padStart(2, "0")}`,
        symbol: i === 0 ? hostile : `S${i % 10}`,
        price: 100 + i / 8,
        volume: 1_000_000 + i,
      }));
      await s.insert("quotes", rows);
      const [count] = await s.query<{ n: number }>("SELECT count() AS n FROM quotes");
      assert.equal(count?.n, 1000);
      const back = await s.query<{ symbol: string; price: number; volume: number }>(
        "SELECT symbol, price, volume FROM quotes WHERE volume = 1000000",
      );
      assert.deepEqual(back, [{ symbol: hostile, price: 100, volume: 1_000_000 }]);
      const [sum] = await s.query<{ v: number }>("SELECT sum(volume) AS v FROM quotes WHERE symbol = 'S3'");
      assert.equal(sum?.v, rows.filter((r) => r.symbol === "S3").reduce((a, r) => a + r.volume, 0));
    });

    await t.step("a server without query parameters answers a parameterized query with a clear error", async () => {
      const major = Number(server!.version.split(".")[0]);
      if (major >= 19) {
        const [row] = await s.query<{ v: string }>("SELECT {v:String} AS v", { v: "x'y" });
        assert.equal(row?.v, "x'y");
        return;
      }
      await assert.rejects(s.query("SELECT {v:String} AS v", { v: "x'y" }), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, 115);
        assert.match(e.message, /^query failed: Code: 115.*Unknown setting param_v/);
        return true;
      });
    });

    await t.step("a server error keeps ClickHouse's code and a one-line message", async () => {
      await assert.rejects(s.query("SELECT * FROM missing_table"), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, 60);
        assert.match(e.message, /missing_table/);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
      await assert.rejects(s.exec("CREAT TABLE x"), (e: unknown) => e instanceof StoreError && e.code === 62);
    });

    await t.step("a stopped server is reported as unreachable, naming the URL", async () => {
      await server!.stop();
      server = undefined;
      await assert.rejects(s.ping(), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, undefined);
        assert.match(e.message, new RegExp(`^ping: cannot reach ClickHouse at ${url.replaceAll(".", "\\.")}`));
        return true;
      });
    });
  } finally {
    await store?.close();
    await server?.stop();
  }
});

Deno.test("http store refuses to open when nothing listens at the URL", async () => {
  const port = freePort();
  await assert.rejects(
    openHttpStore({ url: `http://127.0.0.1:${port}`, user: "default", password: "", database: "x" }),
    (e: unknown) => e instanceof StoreError && /cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+/.test(e.message),
  );
});

const given = Deno.env.get("CLICKHOUSE_URL");
Deno.test({
  name: "http store meets the store contract on the CLICKHOUSE_URL this run was given",
  ignore: given === undefined,
  async fn(t) {
    const store = await openHttpStore({
      url: given!,
      user: Deno.env.get("CLICKHOUSE_USER") ?? "default",
      password: Deno.env.get("CLICKHOUSE_PASSWORD") ?? "",
      database: uniqueDatabase("contract"),
    });
    try {
      await storeContract(t, store);
    } finally {
      await store.exec(`DROP DATABASE IF EXISTS \`${store.database}\``).catch(() => {});
      await store.close();
    }
  },
});
