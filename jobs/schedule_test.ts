import assert from "node:assert/strict";
import { scheduleJob } from "./schedule.ts";

Deno.test("a scheduled job registers its cron and runs in one process at a time across a shared KV", async () => {
  const kv = await Deno.openKv(":memory:");
  const registered: [string, string][] = [];
  let handler: (() => Promise<void>) | undefined;
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const make = () =>
    scheduleJob({
      kv,
      name: "ohlcv_fetch",
      schedule: "0 0,6,12,18 * * *",
      run: async () => {
        runs++;
        await gate;
      },
      cron: (name, schedule, h) => {
        registered.push([name, schedule]);
        handler = h;
      },
    });
  const a = make();
  const b = make();
  assert.deepEqual(registered, [["ohlcv_fetch", "0 0,6,12,18 * * *"], ["ohlcv_fetch", "0 0,6,12,18 * * *"]]);
  const first = a.trigger();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await b.trigger(), false, "the other process skips while the lock is held");
  release();
  assert.equal(await first, true);
  assert.equal(runs, 1);
  // The lock is released after the run: the next tick of the schedule runs again.
  await handler!();
  assert.equal(runs, 2);
  kv.close();
});

Deno.test("a failing run releases the lock and is logged, not thrown into Deno.cron", async () => {
  const kv = await Deno.openKv(":memory:");
  const logged: string[] = [];
  const job = scheduleJob({
    kv,
    name: "x",
    schedule: "* * * * *",
    run: () => Promise.reject(new Error("provider down")),
    cron: () => {},
    log: (_l, msg, f) => logged.push(`${msg}: ${f?.error}`),
  });
  assert.equal(await job.trigger(), true);
  assert.deepEqual(logged, ["scheduled job failed: Error: provider down"]);
  assert.equal(await job.trigger(), true, "not locked out by the failed run");
  kv.close();
});
