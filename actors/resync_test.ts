import assert from "node:assert/strict";
import { Resync } from "./resync.ts";

Deno.test("Resync logs, counts and retries a failed re-read until one succeeds", async () => {
  let calls = 0;
  let done!: () => void;
  const succeeded = new Promise<void>((r) => done = r);
  const logged: Record<string, unknown>[] = [];
  let counted = 0;
  const sync = new Resync("rules", () => {
    calls++;
    if (calls <= 2) return Promise.reject(new Error(`KV unavailable (${calls})`));
    done();
    return Promise.resolve();
  }, { log: (_level, _msg, fields) => logged.push(fields ?? {}), failed: () => counted++ });
  sync.request();
  await succeeded;
  assert.equal(calls, 3);
  assert.equal(counted, 2);
  assert.equal(sync.failures, 2);
  assert.deepEqual(logged.map((f) => [f.collection, f.attempt, f.error]), [
    ["rules", 1, "KV unavailable (1)"],
    ["rules", 2, "KV unavailable (2)"],
  ]);
  sync.close();
});

Deno.test("Resync runs once more after a request that came while a re-read ran, and not again after close", async () => {
  const gates: (() => void)[] = [];
  let calls = 0;
  const sync = new Resync("watchlists", () => {
    calls++;
    return new Promise<void>((r) => gates.push(r));
  });
  sync.request();
  sync.request(); // while the first runs: remembered, run after it
  sync.request(); // still one more, not two
  assert.equal(calls, 1);
  gates.shift()!();
  for (let i = 0; i < 100 && calls < 2; i++) await Promise.resolve();
  assert.equal(calls, 2, "the remembered request ran");
  gates.shift()!();
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.equal(calls, 2);
  sync.close();
  sync.request();
  assert.equal(calls, 2);
});
