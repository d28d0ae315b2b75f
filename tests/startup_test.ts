import assert from "node:assert/strict";
import { until } from "./wait.ts";
import { spawnApp, startApp } from "./app_process.ts";
import { freePort } from "./free_port.ts";

for (
  const [name, value, allowed] of [
    ["PORT", "abc", "PORT must be an integer from 0 to 65535"],
    ["SYMBOLS", ";DROP", "SYMBOLS must be a comma-separated list of ticker symbols"],
    ["CLICKHOUSE_URL", "not-a-url", "CLICKHOUSE_URL must be an http:// or https:// URL"],
  ] as const
) {
  Deno.test(`start-up with ${name}=${value} exits 2 with one line naming the variable and no stack trace`, async () => {
    const dataDir = await Deno.makeTempDir();
    try {
      const app = spawnApp({ [name]: value, DATA_DIR: dataDir });
      const { code, stderr } = await app.finished;
      assert.equal(code, 2);
      const lines = stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `one line, got: ${stderr}`);
      assert.ok(lines[0]!.includes(allowed), lines[0]);
      assert.ok(lines[0]!.includes(JSON.stringify(value)), "names the value it got");
      assert.doesNotMatch(stderr, /^\s+at /m);
      assert.deepEqual(app.stdout, []);
      assert.deepEqual([...Deno.readDirSync(dataDir)], [], "nothing was opened or created");
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}

Deno.test("the app starts on embedded defaults, serves health, stops on SIGTERM, and a second start migrates nothing", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const first = await startApp({ DATA_DIR: dataDir });
    const res = await fetch(`http://127.0.0.1:${first.port}/api/v1/health`);
    assert.equal(res.status, 200);
    const health = await res.json();
    assert.equal(health.store.ok, true);
    assert.equal(health.kv.ok, true);
    assert.equal(health.store.driver, "embedded");
    // Yahoo is a closed port here: health says so instead of "ok", with the reason and since when.
    let feed: { state: string; error?: string; since?: number } = health.feed;
    await until(
      async () => {
        const h = await (await fetch(`http://127.0.0.1:${first.port}/api/v1/health`)).json();
        feed = h.feed;
        return h.feed.state === "unreachable" && h.status === "degraded";
      },
      20_000,
      "the unreachable feed in health",
    );
    assert.ok(feed.error && feed.error.length > 0, JSON.stringify(feed));
    assert.ok(feed.since! <= Date.now());
    await first.waitFor(/"msg":"live feed unreachable"/);
    // So is Yahoo's chart API: the first history fetch fails, is a warning with its reason, and the History page
    // says so above the chart.
    const failed = JSON.parse(await first.waitFor(/"msg":"history fetch failed"/));
    assert.equal(failed.level, "warn");
    assert.ok(String(failed.reason ?? "").length > 0, JSON.stringify(failed));
    const historyPage = await (await fetch(`http://127.0.0.1:${first.port}/history`)).text();
    assert.match(historyPage, /data-testid="job-warning"[^>]*>The last history fetch failed at/);
    const migrated = JSON.parse(first.stdout.find((l) => l.includes('"msg":"migrations"'))!);
    assert.deepEqual(migrated.applied, [
      "001_ticks.sql",
      "002_candles_1m.sql",
      "003_candles_1d.sql",
      "004_alerts.sql",
      "005_job_runs.sql",
      "006_tick_seq.sql",
    ]);
    const files = [...Deno.readDirSync(dataDir)].map((e) => e.name).sort();
    assert.ok(files.includes("clickhouse"), `embedded ClickHouse under DATA_DIR: ${files}`);
    assert.ok(files.includes("kv.sqlite3"), `Deno KV under DATA_DIR: ${files}`);
    first.child.kill("SIGTERM");
    assert.equal((await first.finished).code, 0);
    assert.ok(first.stdout.some((l) => l.includes('"msg":"stopped"')));

    const second = await startApp({ DATA_DIR: dataDir });
    const again = JSON.parse(second.stdout.find((l) => l.includes('"msg":"migrations"'))!);
    assert.deepEqual(again.applied, []);
    assert.equal(again.alreadyApplied, 6);
    assert.equal((await fetch(`http://127.0.0.1:${second.port}/api/v1/health`)).status, 200);
    second.child.kill("SIGINT");
    assert.equal((await second.finished).code, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a failing migration stops start-up with the migration's name and exit code 1", async () => {
  const dataDir = await Deno.makeTempDir();
  const migrations = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${migrations}/001_fine.sql`,
      "CREATE TABLE IF NOT EXISTS fine (x UInt8) ENGINE = Memory;",
    );
    await Deno.writeTextFile(
      `${migrations}/002_typo.sql`,
      "CREATE TABLE IF NOT EXISTS typo (x UInt8) ENGINE = Mergetree;",
    );
    const app = spawnApp({ DATA_DIR: dataDir, PORT: "0" }, "tests/fixtures/start_with_migrations.ts", [migrations]);
    const { code, stderr } = await app.finished;
    assert.equal(code, 1);
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^start-up failed: migration 002_typo\.sql failed at statement 1: /);
    assert.ok(!app.stdout.some((l) => l.includes("listening")), "never listened");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(migrations, { recursive: true });
  }
});

Deno.test("an unreachable CLICKHOUSE_URL stops start-up with a line naming the server", async () => {
  const dataDir = await Deno.makeTempDir();
  const port = freePort();
  try {
    const app = spawnApp({ DATA_DIR: dataDir, PORT: "0", CLICKHOUSE_URL: `http://127.0.0.1:${port}` });
    const { code, stderr } = await app.finished;
    assert.equal(code, 1);
    assert.match(
      stderr.trim(),
      new RegExp(`^start-up failed: .*cannot reach ClickHouse at http://127\\.0\\.0\\.1:${port}`),
    );
    assert.equal(stderr.trim().split("\n").length, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
