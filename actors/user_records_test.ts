import assert from "node:assert/strict";
import { keys } from "./keys.ts";
import { KvBusyError } from "./kv_versioned.ts";
import { BUSY_ATTEMPTS, COLLECTION_LIMITS, LimitError, Quotas } from "./user_quota.ts";
import { UserRecords } from "./user_records.ts";
import { commitFaults } from "../tests/kv_faults.ts";

interface Note {
  id: string;
  userId: string;
  symbol: string;
}

function notes(kv: Deno.Kv) {
  return new UserRecords<Note>(kv, new Quotas(kv), {
    collection: "watchlists",
    what: "note",
    key: (id) => ["note", id],
    indexes: (n) => [[["note_by_symbol", n.symbol, n.id], n.id], [["note_by_user", n.userId, n.id], n.id]],
    owner: (n) => n.userId,
    symbols: (n) => [n.symbol],
    version: ["notes_version"],
  });
}

async function state(kv: Deno.Kv) {
  const all: [string, unknown][] = [];
  for await (const e of kv.list({ prefix: [] })) all.push([JSON.stringify(e.key), e.value]);
  return Object.fromEntries(all);
}

Deno.test("a record, its indexes, the change counter and the user's counts are written and removed together", async () => {
  await using kv = await Deno.openKv(":memory:");
  const r = notes(kv);
  await r.put("n1", () => ({ id: "n1", userId: "u1", symbol: "AAPL" }));
  let s = await state(kv);
  assert.deepEqual(s['["note","n1"]'], { id: "n1", userId: "u1", symbol: "AAPL" });
  assert.equal(s['["note_by_symbol","AAPL","n1"]'], "n1");
  assert.equal(s['["note_by_user","u1","n1"]'], "n1");
  assert.equal(s[JSON.stringify(keys.userCount("u1", "watchlists"))], 1);
  assert.deepEqual(s[JSON.stringify(keys.userSymbols("u1"))], { AAPL: 1 });

  // A replacement moves its index entries and symbol, and does not count twice; build sees the stored record.
  let seen: Note | undefined;
  await r.put("n1", (old) => (seen = old, { id: "n1", userId: "u1", symbol: "MSFT" }));
  assert.deepEqual(seen, { id: "n1", userId: "u1", symbol: "AAPL" });
  s = await state(kv);
  assert.equal(s['["note_by_symbol","AAPL","n1"]'], undefined, "the old index entry is gone");
  assert.equal(s['["note_by_symbol","MSFT","n1"]'], "n1");
  assert.equal(s[JSON.stringify(keys.userCount("u1", "watchlists"))], 1);
  assert.deepEqual(s[JSON.stringify(keys.userSymbols("u1"))], { MSFT: 1 });
  assert.equal((s['["notes_version"]'] as Deno.KvU64).value, 2n);

  assert.deepEqual((await r.getMany(["n1", "gone"])).map((n) => n.symbol), ["MSFT"]);
  assert.equal(await r.delete("n1", (n) => n.userId === "someone else"), false, "refused: nothing deleted");
  assert.ok((await state(kv))['["note","n1"]']);
  assert.equal(await r.delete("n1"), true);
  assert.equal(await r.delete("n1"), false);
  s = await state(kv);
  for (const k of Object.keys(s)) assert.doesNotMatch(k, /note_by|"note"/, `${k} is left over`);
  assert.equal(s[JSON.stringify(keys.userCount("u1", "watchlists"))], 0);
});

Deno.test("concurrent creates never pass the user's cap, and a refused write leaves nothing behind", async () => {
  await using kv = await Deno.openKv(":memory:");
  const r = notes(kv);
  const cap = COLLECTION_LIMITS.watchlists;
  const results = await Promise.allSettled(
    Array.from({ length: cap + 5 }, (_, i) => r.put(`n${i}`, () => ({ id: `n${i}`, userId: "u1", symbol: "IBM" }))),
  );
  const ok = results.filter((x) => x.status === "fulfilled").length;
  assert.equal(ok, cap);
  for (const x of results) if (x.status === "rejected") assert.ok(x.reason instanceof LimitError, String(x.reason));
  const s = await state(kv);
  assert.equal(Object.keys(s).filter((k) => k.startsWith('["note",')).length, cap);
  assert.equal(Object.keys(s).filter((k) => k.startsWith('["note_by_user",')).length, cap);
  assert.equal(s[JSON.stringify(keys.userCount("u1", "watchlists"))], cap);
  assert.deepEqual(s[JSON.stringify(keys.userSymbols("u1"))], { IBM: cap });
});

Deno.test("a write that finds the KV file locked waits it out and lands once; locked throughout, nothing is written", async () => {
  await using kv = await Deno.openKv(":memory:");
  const r = notes(kv);
  const faults = commitFaults(kv);
  faults.fail(3);
  let built = 0;
  await r.put("n1", () => (built++, { id: "n1", userId: "u1", symbol: "AAPL" }));
  assert.equal(faults.refused, 3);
  assert.equal(built, 4, "built again for each try");
  const s = await state(kv);
  assert.deepEqual(s['["note","n1"]'], { id: "n1", userId: "u1", symbol: "AAPL" });
  assert.equal(s[JSON.stringify(keys.userCount("u1", "watchlists"))], 1, "counted once");
  assert.equal((s['["notes_version"]'] as Deno.KvU64).value, 1n);

  const before = await state(kv);
  faults.fail(Infinity);
  await assert.rejects(
    r.put("n2", () => ({ id: "n2", userId: "u1", symbol: "MSFT" })),
    (err: Error) => err instanceof KvBusyError && /note n2 could not be saved: storage is busy/.test(err.message),
  );
  assert.equal(faults.refused, 3 + BUSY_ATTEMPTS);
  assert.deepEqual(await state(kv), before, "nothing written");
  // Any other failure is not retried.
  faults.fail(Infinity, "Value too large");
  await assert.rejects(r.put("n3", () => ({ id: "n3", userId: "u1", symbol: "IBM" })), /Value too large/);
  assert.equal(faults.refused, 3 + BUSY_ATTEMPTS + 1);
});
