import assert from "node:assert/strict";
import { client, withApp } from "./api_client.ts";

/** Sends `n` copies of a write at once; returns the statuses. */
async function parallel(n: number, send: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  return (await Promise.all(Array.from({ length: n }, (_, i) => send(i)))).map((r) => r.status);
}

const count = (statuses: number[], code: number) => statuses.filter((s) => s === code).length;

Deno.test("per-user caps hold under parallel writes: tokens, channels, watchlists and rules", async () => {
  await withApp(async (base) => {
    const a = client(base);
    await a.call("GET", "/api/v1/rules");
    const tokens = await parallel(60, (i) => a.call("POST", "/api/v1/tokens", { name: `t${i}` }));
    assert.equal(count(tokens, 201), 20, `tokens: ${tokens}`);
    assert.equal((await a.call("GET", "/api/v1/tokens")).body.tokens.length, 20);
    const over = await a.call("POST", "/api/v1/tokens", { name: "one more" });
    assert.equal(over.status, 409);
    assert.equal(over.body.error.code, "limit_reached");
    assert.match(over.body.error.message, /at most 20 API tokens/);

    const channels = await parallel(
      40,
      (i) => a.call("POST", "/api/v1/channels", { kind: "webhook", url: `http://127.0.0.1:9/hook${i}` }),
    );
    assert.equal(count(channels, 201), 10, `channels: ${channels}`);
    assert.equal((await a.call("GET", "/api/v1/channels")).body.channels.length, 10);

    const lists = await parallel(60, (i) => a.call("POST", "/api/v1/watchlists", { name: `w${i}`, symbols: ["AAPL"] }));
    assert.equal(count(lists, 201), 20, `watchlists: ${lists}`);
    assert.equal((await a.call("GET", "/api/v1/watchlists")).body.watchlists.length, 20);

    const rules = await parallel(
      300,
      () => a.call("POST", "/api/v1/rules", { symbol: "AAPL", kind: "price_above", price: 1_000_000 }),
    );
    assert.equal(count(rules, 201), 200, `rules created: ${count(rules, 201)}`);
    assert.equal((await a.call("GET", "/api/v1/rules")).body.rules.length, 200);
    assert.ok(rules.every((s) => s === 201 || s === 409), "the rest are refused with 409");

    // Deleting frees a slot for exactly one more.
    const one = (await a.call("GET", "/api/v1/tokens")).body.tokens[0].id;
    assert.equal((await a.call("DELETE", `/api/v1/tokens/${one}`)).status, 204);
    const again = await parallel(5, (i) => a.call("POST", "/api/v1/tokens", { name: `again${i}` }));
    assert.equal(count(again, 201), 1, `after a delete: ${again}`);
  }, { NOTIFY_ALLOW_PRIVATE: "true", MAX_CONNECTIONS_PER_IP: "1000" });
});

Deno.test("symbol budgets: one user cannot make the server track more than its budgets allow", async () => {
  await withApp(async (base) => {
    const a = client(base);
    await a.call("GET", "/api/v1/rules");
    // 20 parallel watchlists of 50 new symbols each from one identity: the per-user budget (300) holds.
    const made = await parallel(20, (w) =>
      a.call("POST", "/api/v1/watchlists", {
        name: `w${w}`,
        symbols: Array.from({ length: 50 }, (_, i) => `Z${w}X${i}`),
      }));
    assert.equal(count(made, 201), 6, `per-user budget: ${made}`);
    const refused = await a.call("POST", "/api/v1/watchlists", { name: "more", symbols: ["QQQQ"] });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /at most 300 distinct symbols per user/);
    assert.equal(refused.body.error.issues[0].path, "symbols_per_user");
    // A rule on a symbol the user already holds costs nothing; on a new one it is refused. Which six watchlists won
    // the race varies: take a symbol from one that was stored.
    const held = (await a.call("GET", "/api/v1/watchlists")).body.watchlists[0].symbols[0];
    assert.equal(
      (await a.call("POST", "/api/v1/rules", { symbol: held, kind: "price_above", price: 1 })).status,
      201,
    );
    assert.equal(
      (await a.call("POST", "/api/v1/rules", { symbol: "NEWONE", kind: "price_above", price: 1 })).status,
      409,
    );

    // Other users fill the global budget (AAPL, MSFT + 400 added: 300 of them by the first user): the total holds under parallel writes.
    const others = Array.from({ length: 4 }, () => client(base));
    for (const o of others) await o.call("GET", "/api/v1/rules");
    const global = await parallel(8, (i) =>
      others[i % 4]!.call("POST", "/api/v1/watchlists", {
        name: `g${i}`,
        symbols: Array.from({ length: 50 }, (_, k) => `G${i}Y${k}`),
      }));
    assert.equal(count(global, 201), 2, `global budget: ${global}`);
    assert.equal(count(global, 409), 6);
    const msg = await others[0]!.call("POST", "/api/v1/watchlists", { name: "x", symbols: ["LASTONE"] });
    assert.equal(msg.status, 409);
    assert.match(msg.body.error.message, /tracks at most 402 symbols/);

    // Freeing symbols returns them to the budget.
    const mine = (await a.call("GET", "/api/v1/watchlists")).body.watchlists as { id: string }[];
    for (const w of mine) assert.equal((await a.call("DELETE", `/api/v1/watchlists/${w.id}`)).status, 204);
    assert.equal(
      (await others[0]!.call("POST", "/api/v1/watchlists", { name: "x", symbols: ["LASTONE"] })).status,
      201,
    );
  }, { MAX_SYMBOLS_PER_USER: "300", MAX_TRACKED_SYMBOLS: "402" });
});
