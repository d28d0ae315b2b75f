import assert from "node:assert/strict";
import { RollingWindow } from "./window.ts";

/** The same figures computed the slow way, from every tick still inside the window's buckets. */
function naive(ticks: { t: number; p: number; v: number }[], w: RollingWindow, now: number) {
  const edge = now - w.spanMs;
  const inside = ticks.filter((x) => x.t - (x.t % w.bucketMs) + w.bucketMs > edge && x.t <= now);
  if (inside.length === 0) return null;
  const first = inside[0]!.p;
  const last = inside.at(-1)!.p;
  return {
    first,
    last,
    high: Math.max(...inside.map((x) => x.p)),
    low: Math.min(...inside.map((x) => x.p)),
    changePercent: Math.round((last - first) / first * 100 * 1e4) / 1e4,
    volume: inside.reduce((s, x) => s + x.v, 0),
    ticks: inside.length,
  };
}

Deno.test("RollingWindow matches a full recomputation over a long random stream", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (const span of [60_000, 900_000]) {
    const w = new RollingWindow(span);
    const ticks: { t: number; p: number; v: number }[] = [];
    let t = 1_700_000_000_000;
    let p = 100;
    for (let i = 0; i < 4_000; i++) {
      t += Math.floor(rand() * (span / 100)) + (rand() < 0.01 ? span : 0); // now and then a gap longer than the window
      p = Math.max(1, p * (1 + (rand() - 0.5) * 0.01));
      const v = Math.floor(rand() * 100);
      ticks.push({ t, p, v });
      w.add(t, p, v);
      if (i % 97 === 0) assert.deepEqual(w.stats(), naive(ticks, w, t), `span ${span}, tick ${i}`);
    }
    assert.deepEqual(w.stats(t + span / 2), naive(ticks, w, t + span / 2));
    assert.equal(w.stats(t + span * 2), null, "a window with no tick inside it is empty");
  }
});

Deno.test("RollingWindow snapshot and restore give the same figures and keep working", () => {
  const w = new RollingWindow(300_000);
  for (let i = 0; i < 500; i++) w.add(1_000_000 + i * 1_000, 100 + Math.sin(i / 10) * 5, i);
  const r = RollingWindow.restore(300_000, structuredClone(w.snapshot()));
  assert.deepEqual(r.stats(), w.stats());
  w.add(1_600_000, 120, 5);
  r.add(1_600_000, 120, 5);
  assert.deepEqual(r.stats(), w.stats());
  assert.equal(r.high, 120);
});
