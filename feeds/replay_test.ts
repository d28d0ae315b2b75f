import assert from "node:assert/strict";
import type { Tick } from "../schema/tick.ts";
import { startFakeYahoo } from "../tests/fake_yahoo.ts";
import { until } from "../tests/wait.ts";
import { createMassiveDecoder } from "./massive_decode.ts";
import { Recorder } from "./recorder.ts";
import { ReplayFeed } from "./replay.ts";
import { YahooFeed } from "./yahoo.ts";
import { createYahooDecoder } from "./yahoo_decode.ts";

const yahoo = await createYahooDecoder();
const replayYahoo = await createYahooDecoder({ source: "replay" });
/** The decoders the feed registry hands a replay, one per recorded source. */
const decoders = (massive = createMassiveDecoder({ source: "replay" })) => ({
  yahoo: (frame: string) => [replayYahoo.decode(frame)],
  massive: (frame: string) => massive.decode(frame),
});

function collect() {
  const ticks: Tick[] = [];
  const rejects: string[] = [];
  return { ticks, rejects, sink: { tick: (t: Tick) => ticks.push(t), reject: (r: string) => rejects.push(r) } };
}

async function replay(path: string, speed: number) {
  const out = collect();
  let ended = -1;
  const feed = new ReplayFeed({
    path,
    speed,
    decoders: decoders(),
    sink: out.sink,
    onEnd: (n) => (ended = n),
  });
  const started = performance.now();
  feed.start();
  await until(() => ended >= 0, 10_000, "replay end");
  return { ...out, ms: performance.now() - started, frames: ended, status: feed.status() };
}

Deno.test("Recorder saves the live feed's raw frames and replay plays them through the same decoder", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/frames.jsonl`;
  const server = startFakeYahoo(yahoo);
  const live = collect();
  const recorder = await Recorder.open(path, (err) => assert.fail(String(err)), { flushMs: 20 });
  const feed = new YahooFeed({ url: server.url, decoder: yahoo, sink: live.sink, onFrame: recorder.hook("yahoo") });
  try {
    feed.setSymbols(["AAPL", "MSFT"]);
    feed.start();
    await until(() => server.open().some((c) => c.symbols.has("MSFT")));
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) {
      server.price({ id: i % 2 ? "MSFT" : "AAPL", price: 100 + i * 0.1, time: t0 + i, quoteType: 8, marketHours: 1 });
    }
    server.raw("%%% not a frame");
    await until(() => live.ticks.length === 20 && recorder.frames === 21);
  } finally {
    await feed.stop();
    await recorder.close();
    await server.stop();
  }
  // A torn last line (a crash mid-write) is skipped with a reason, not fatal.
  await Deno.writeTextFile(path, '{"at":1,"source":"yah', { append: true });

  const r = await replay(path, 0);
  assert.equal(r.frames, 21);
  assert.deepEqual(
    r.ticks.map((t) => [t.symbol, t.price, t.time]),
    live.ticks.map((t) => [t.symbol, t.price, t.time]),
  );
  assert.ok(r.ticks.every((t) => t.source === "replay"));
  assert.deepEqual(r.rejects.sort(), ["bad_base64", "bad_record"]);
  assert.equal(r.status.state, "stopped");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ReplayFeed keeps the recorded pacing divided by the speed, Massive frames included", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/frames.jsonl`;
  const t = Date.now() - 60_000;
  const frames = [0, 200, 400].map((gap, i) =>
    JSON.stringify({
      at: 1_000 + gap,
      source: "massive",
      frame: JSON.stringify([{ ev: "T", sym: "NVDA", p: 180 + i, s: 10, t: t + gap }]),
    })
  );
  await Deno.writeTextFile(path, frames.join("\n") + "\n");
  const atOne = await replay(path, 1);
  assert.deepEqual(atOne.ticks.map((x) => x.price), [180, 181, 182]);
  assert.ok(atOne.ms >= 390, `1x replay of 400 ms of frames took ${atOne.ms} ms`);
  const atFour = await replay(path, 4);
  assert.deepEqual(atFour.ticks.map((x) => x.price), [180, 181, 182]);
  assert.ok(atFour.ms >= 95 && atFour.ms < atOne.ms, `4x took ${atFour.ms} ms, 1x took ${atOne.ms} ms`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ReplayFeed reports a missing file as an error state, and stop ends a replay early", async () => {
  const out = collect();
  const missing = new ReplayFeed({
    path: "/nonexistent/frames.jsonl",
    decoders: decoders(createMassiveDecoder()),
    sink: out.sink,
  });
  missing.start();
  await until(() => missing.status().state === "error");
  assert.match(missing.status().error ?? "", /nonexistent/);

  const dir = await Deno.makeTempDir();
  const path = `${dir}/slow.jsonl`;
  const frame = (at: number) =>
    JSON.stringify({ at, source: "massive", frame: JSON.stringify([{ ev: "T", sym: "A", p: 1, t: Date.now() }]) });
  await Deno.writeTextFile(path, [frame(0), frame(60_000)].join("\n"));
  const slow = new ReplayFeed({ path, speed: 1, decoders: decoders(createMassiveDecoder()), sink: out.sink });
  slow.start();
  await until(() => out.ticks.length === 1);
  await slow.stop();
  assert.equal(out.ticks.length, 1);
  assert.equal(slow.status().state, "stopped");
  await Deno.remove(dir, { recursive: true });
});
