import assert from "node:assert/strict";
import { ArrivalClock } from "./ingest.ts";

Deno.test("ArrivalClock positions only grow: many per millisecond, a stalled or stepped-back clock, a restart", () => {
  let now = 1_700_000_000_000;
  const clock = new ArrivalClock(() => now);
  const first = [clock.next(), clock.next(), clock.next()];
  assert.deepEqual(first, [now * 1_000, now * 1_000 + 1, now * 1_000 + 2]);
  now -= 5; // the wall clock steps back
  assert.equal(clock.next(), first[2]! + 1);
  now += 10;
  assert.equal(clock.next(), now * 1_000);
  // A process started a millisecond later hands out positions above every earlier one.
  const restarted = new ArrivalClock(() => now + 1);
  assert.ok(restarted.next() > clock.next());
  assert.ok(Number.isSafeInteger(new ArrivalClock(() => Date.UTC(2255, 0, 1)).next()));
});
