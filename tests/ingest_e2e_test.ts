import assert from "node:assert/strict";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { spawnApp, startApp } from "./app_process.ts";
import { startFakeMassive } from "./fake_massive.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { until } from "./wait.ts";

function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function counts(dataDir: string, database: string) {
  const p = spawnApp({}, "tests/fixtures/count_ticks.ts", [dataDir, database]);
  const { code, stderr } = await p.finished;
  assert.equal(code, 0, stderr);
  return JSON.parse(p.stdout.at(-1)!) as { source: string; n: number; distinct: number }[];
}

Deno.test("ticks from the Yahoo streamer flow through the app into ClickHouse; bad frames are counted", async () => {
  const decoder = await createYahooDecoder();
  const yahoo = startFakeYahoo(decoder);
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-e2e-" });
  try {
    const app = await startApp({ DATA_DIR: dataDir, YAHOO_WS_URL: yahoo.url, SYMBOLS: "AAPL,MSFT" });
    const base = `http://127.0.0.1:${app.port}`;
    await until(() => yahoo.open().some((c) => c.symbols.has("AAPL") && c.symbols.has("MSFT")), 20_000, "subscribe");
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 300; i++) {
      yahoo.price({ id: i % 2 ? "MSFT" : "AAPL", price: 300 + i / 10, time: t0 + i, quoteType: 8, marketHours: 1 });
    }
    yahoo.raw("{garbage");
    yahoo.raw("###");
    await until(
      async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return metric(text, "breadboard_ticks_stored") >= 300;
      },
      20_000,
      "300 ticks stored",
    );
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.equal(metric(text, 'breadboard_ticks_received_total{source="yahoo"}'), 300);
    assert.equal(metric(text, 'breadboard_frames_rejected_total{reason="not_json"}'), 1);
    assert.equal(metric(text, 'breadboard_frames_rejected_total{reason="bad_base64"}'), 1);
    assert.equal(metric(text, "breadboard_store_up"), 1);
    const health = await (await fetch(`${base}/api/v1/health`)).json();
    assert.equal(health.feed.state, "live");
    assert.ok(health.feed.lastTickAt > 0);
    app.child.kill("SIGTERM");
    assert.equal((await app.finished).code, 0);
    assert.deepEqual(await counts(dataDir, "breadboard"), [{ source: "yahoo", n: 300, distinct: 300 }]);
  } finally {
    await yahoo.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("FEED=synthetic writes only to its own database, never the live one", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-e2e-" });
  try {
    const app = await startApp({
      DATA_DIR: dataDir,
      FEED: "synthetic",
      SYNTHETIC_ALWAYS_OPEN: "true",
      SYNTHETIC_RATE: "500",
      SYMBOLS: "AAA,BBB",
    });
    await until(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
        return metric(text, "breadboard_ticks_stored") >= 200;
      },
      20_000,
      "synthetic ticks stored",
    );
    app.child.kill("SIGTERM");
    assert.equal((await app.finished).code, 0);
    assert.deepEqual(await counts(dataDir, "breadboard"), []);
    const synthetic = await counts(dataDir, "breadboard_synthetic");
    assert.equal(synthetic.length, 1);
    assert.equal(synthetic[0]!.source, "synthetic");
    assert.ok(synthetic[0]!.n >= 200);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("with MASSIVE_API_KEY the app streams from Massive, records frames, and a replay stores them apart", async () => {
  const massive = startFakeMassive("good-key");
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-e2e-" });
  const record = `${dataDir}/frames.jsonl`;
  try {
    const app = await startApp({
      DATA_DIR: dataDir,
      MASSIVE_API_KEY: "good-key",
      MASSIVE_WS_URL: massive.url,
      SYMBOLS: "NVDA",
      RECORD_FILE: record,
    });
    await until(() => massive.open().some((c) => c.channels.has("T.NVDA")), 20_000, "subscribe");
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 50; i++) massive.send([{ ev: "T", sym: "NVDA", p: 180 + i / 100, s: 10, t: t0 + i }]);
    await until(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
        return metric(text, "breadboard_ticks_stored") >= 50;
      },
      20_000,
      "50 ticks stored",
    );
    app.child.kill("SIGTERM");
    assert.equal((await app.finished).code, 0);
    assert.deepEqual(await counts(dataDir, "breadboard"), [{ source: "massive", n: 50, distinct: 50 }]);

    const replay = await startApp({ DATA_DIR: dataDir, FEED: "replay", REPLAY_FILE: record, REPLAY_SPEED: "0" });
    await replay.waitFor(/replay finished/, 20_000);
    await until(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${replay.port}/metrics`)).text();
        return metric(text, "breadboard_ticks_stored") >= 50;
      },
      20_000,
      "replayed ticks stored",
    );
    replay.child.kill("SIGTERM");
    assert.equal((await replay.finished).code, 0);
    assert.deepEqual(await counts(dataDir, "breadboard_replay"), [{ source: "replay", n: 50, distinct: 50 }]);
    assert.deepEqual(await counts(dataDir, "breadboard"), [{ source: "massive", n: 50, distinct: 50 }]);
  } finally {
    await massive.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a rejected Massive key shows in health as a feed error, and the app keeps serving", async () => {
  const massive = startFakeMassive("good-key");
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-e2e-" });
  try {
    const app = await startApp({ DATA_DIR: dataDir, MASSIVE_API_KEY: "bad-key", MASSIVE_WS_URL: massive.url });
    const url = `http://127.0.0.1:${app.port}/api/v1/health`;
    await until(async () => (await (await fetch(url)).json()).feed.state === "error", 20_000, "feed error");
    const res = await fetch(url);
    const health = await res.json();
    assert.equal(res.status, 200);
    assert.equal(health.status, "degraded");
    assert.match(health.feed.error, /Massive rejected the API key/);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(massive.clients.length, 1, "no reconnect after a rejected key");
    app.child.kill("SIGTERM");
    const { code, stderr } = await app.finished;
    assert.equal(code, 0);
    assert.equal(stderr.split("\n").filter((l) => l.includes("auth_failed")).length, 1, stderr);
  } finally {
    await massive.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
