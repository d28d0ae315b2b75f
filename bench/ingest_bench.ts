/**
 * Ingestion throughput.
 *
 * "decode": 1,000 version=2 envelopes per iteration through decode + normalize, against the raw protobuf decode of
 * the same payloads (baseline).
 * "frames to ClickHouse": 100,000 frames decoded in bursts of 500 (the event loop runs between bursts, as it does
 * between socket messages), appended to the write-ahead log (fsynced) and inserted into embedded ClickHouse in
 * batches of 25,000 while decoding goes on, against inserting the same 100,000 already-built rows in one insert
 * (baseline). Sustained ticks/s is 100,000 / time per iteration.
 */
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import type { Tick } from "../schema/tick.ts";
import { tickToRow } from "../store/rows.ts";
import { openEmbeddedStore } from "../store/embedded.ts";
import { loadMigrations, migrate } from "../store/migrate.ts";
import { TickWriter } from "../store/tick_writer.ts";

const decoder = await createYahooDecoder();
const now = Date.now();
const SYMBOLS = Array.from({ length: 500 }, (_, i) => `SYM${i}`);
const frames: string[] = [];
const payloads: Uint8Array[] = [];
for (let i = 0; i < 100_000; i++) {
  const b64 = decoder.encode({
    id: SYMBOLS[i % SYMBOLS.length],
    price: 100 + (i % 1000) / 100,
    time: now - 100_000 + i,
    currency: "USD",
    exchange: "NMS",
    quoteType: 8,
    marketHours: 1,
    changePercent: 1.25,
    dayVolume: 1_000_000 + i,
    dayHigh: 111,
    dayLow: 99,
    change: 1.2,
    priceHint: 2,
  });
  frames.push(JSON.stringify({ type: "pricing", message: b64 }));
  payloads.push(Uint8Array.fromBase64(b64));
}

Deno.bench({ name: "raw protobuf decode x1,000", group: "decode", baseline: true }, () => {
  for (let i = 0; i < 1_000; i++) decoder.decodeRaw(payloads[i]!);
});

Deno.bench({ name: "envelope + base64 + decode + normalize x1,000", group: "decode" }, () => {
  for (let i = 0; i < 1_000; i++) {
    if (decoder.decode(frames[i]!).kind !== "tick") throw new Error("bad frame");
  }
});

const dir = await Deno.makeTempDir({ prefix: "breadboard-ingest-bench-" });
const store = await openEmbeddedStore({ path: `${dir}/clickhouse`, database: "bench" });
await migrate(store, await loadMigrations());
const ticks: Tick[] = frames.map((f) => {
  const r = decoder.decode(f);
  if (r.kind !== "tick") throw new Error("bad frame");
  return r.tick;
});
const rows = ticks.map(tickToRow);
let round = 0;

Deno.bench(
  { name: "insert 100,000 built rows", group: "frames to ClickHouse", baseline: true, n: 5, warmup: 1 },
  async () => {
    await store.insert("ticks", rows);
  },
);

Deno.bench(
  { name: "100,000 frames: decode, WAL, batched insert", group: "frames to ClickHouse", n: 5, warmup: 1 },
  async (b) => {
    const writer = await TickWriter.open(store, `${dir}/wal-${round++}`, { batchRows: 25_000 });
    b.start();
    // Frames arrive as socket messages do: in bursts, with the event loop (and so the flush loop) running between.
    const batch: Tick[] = [];
    for (let i = 0; i < frames.length; i++) {
      const r = decoder.decode(frames[i]!);
      if (r.kind === "tick") batch.push(r.tick);
      if (batch.length === 500) {
        void writer.append(batch);
        batch.length = 0;
        await macrotask();
      }
    }
    await writer.flush();
    b.end();
    if (writer.stats().stored !== 100_000) throw new Error(`stored ${writer.stats().stored}`);
    await writer.close();
  },
);

/** Yields one macrotask, as a socket message does (a 0 ms timer would be clamped to 4 ms once nested). */
function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}

globalThis.addEventListener("unload", () => {
  // ClickHouse may still be merging parts in the background: a directory that changes under removal is left behind.
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (err) {
    console.error(`could not remove ${dir}: ${err}`);
  }
});
