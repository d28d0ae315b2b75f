import assert from "node:assert/strict";
import { duration, progressBar, progressLine } from "./progress.ts";

Deno.test("progress renders a bar for terminals and a plain line otherwise", () => {
  const p = { symbolsDone: 12, symbolsTotal: 48, candlesWritten: 15_084, elapsedMs: 4_000, rate: 3_771, etaMs: 12_000 };
  assert.equal(progressBar(p, 8), "[##------] 12/48 symbols · 15,084 candles · 3,771/s · ETA 0:12");
  assert.equal(progressLine(p), "backfill: 12/48 symbols, 15084 candles, 3771 candles/s, ETA 0:12");
  assert.equal(duration(3_725_000), "1:02:05");
  assert.equal(duration(null), "--");
});
