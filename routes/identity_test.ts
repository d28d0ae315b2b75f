import assert from "node:assert/strict";
import { Hono } from "hono";
import { COOKIE_MAX_AGE_S, cookieKey, identity, type IdentityVars, USER_COOKIE } from "./identity.ts";

/** An app that answers with the caller's id and how it was known, on a clock the test moves. */
async function setup() {
  const kv = await Deno.openKv(":memory:");
  let now = Date.UTC(2026, 0, 5);
  const app = new Hono<{ Variables: IdentityVars }>();
  app.use("*", identity(kv, cookieKey(kv), { now: () => now }));
  app.get("/me", (c) => c.json({ id: c.get("userId"), auth: c.get("auth") }));
  const get = async (cookie?: string) => {
    const res = await app.request("/me", cookie ? { headers: { Cookie: `${USER_COOKIE}=${cookie}` } } : undefined);
    const set = res.headers.get("set-cookie")?.match(new RegExp(`${USER_COOKIE}=([^;]+)`))?.[1];
    return { ...(await res.json()) as { id: string; auth: string }, set };
  };
  return { kv, get, advance: (ms: number) => now += ms };
}

Deno.test("a verified cookie keeps naming its user on every request, until it expires", async () => {
  const { kv, get, advance } = await setup();
  try {
    const first = await get();
    assert.equal(first.auth, "new");
    assert.ok(first.set);
    for (let i = 0; i < 3; i++) {
      const again = await get(first.set);
      assert.deepEqual([again.id, again.auth, again.set], [first.id, "cookie", undefined]);
    }
    // Past its lifetime the same value (verified before) is refused: a new user is issued.
    advance((COOKIE_MAX_AGE_S + 1) * 1000);
    const late = await get(first.set);
    assert.equal(late.auth, "new");
    assert.notEqual(late.id, first.id);
  } finally {
    kv.close();
  }
});

Deno.test("a forged cookie is refused however often it is sent, even next to a verified one", async () => {
  const { kv, get } = await setup();
  try {
    const real = (await get()).set!;
    assert.equal((await get(real)).auth, "cookie");
    const [id, issued, mac] = real.split(".");
    const forged = `${id}.${Number(issued) + 1}.${mac}`;
    const other = `u_${"A".repeat(22)}.${issued}.${mac}`;
    for (const bad of [forged, other, forged]) {
      const r = await get(bad);
      assert.equal(r.auth, "new", bad);
      assert.notEqual(r.id, id);
    }
  } finally {
    kv.close();
  }
});
