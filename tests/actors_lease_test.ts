import assert from "node:assert/strict";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { type AppProcess, killAll, printLogs, startApp } from "./app_process.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { startNatsServer } from "./nats_server.ts";
import { evenMemberIds, LeaseReader, presetMemberId } from "./leases.ts";
import { until } from "./wait.ts";

const SYMBOLS = ["AAPL", "MSFT", "NVDA", "TSLA", "META", "AMZN", "GOOGL", "AMD", "INTC", "NFLX", "ORCL", "IBM"];
const LEASE_MS = 1_500;

Deno.test("two processes sharing one KV split the symbols, and the survivor takes a killed one's within the lease", async () => {
  const yahoo = startFakeYahoo(await createYahooDecoder());
  // Members sharing a KV share live data over NATS; without it the second one refuses to start.
  const nats = await startNatsServer();
  const shared = await Deno.makeTempDir({ prefix: "breadboard-lease-" });
  const kvPath = `${shared}/kv.sqlite3`;
  const env = (n: number) => ({
    DATA_DIR: `${shared}/p${n}`,
    KV_PATH: kvPath,
    YAHOO_WS_URL: yahoo.url,
    SYMBOLS: SYMBOLS.join(","),
    ACTOR_LEASE_MS: String(LEASE_MS),
    NATS_URL: nats.url,
  });
  const named: Record<string, AppProcess> = {};
  let leases: LeaseReader | undefined;
  try {
    // Ids that split the symbols evenly: the test checks how a split settles, not how random ids happen to fall.
    const ids = evenMemberIds(SYMBOLS, 2);
    await presetMemberId(`${shared}/p1`, ids[0]!);
    await presetMemberId(`${shared}/p2`, ids[1]!);
    const p1 = named.p1 = await startApp(env(1));
    const p2 = named.p2 = await startApp(env(2));
    leases = await LeaseReader.open(kvPath);
    const leaseOwners = () => leases!.owners();
    assert.equal(await Deno.readTextFile(`${shared}/p1/process-id`), ids[0]);
    // Both hold a share, together all, and each streams only its own symbols.
    await until(
      async () => {
        const l = await leaseOwners();
        const owners = new Set(l.values());
        return l.size === SYMBOLS.length && owners.size === 2;
      },
      20_000,
      "symbols split between the two processes",
    );
    // The split may still settle (a lease handed over) right after both hold one: compare the subscriptions with the
    // leases as they are at each check, not with an earlier snapshot.
    let split = await leaseOwners();
    const share = (id: string) => [...split].filter(([, o]) => o === id).map(([s]) => s).sort();
    await until(
      async () => {
        split = await leaseOwners();
        const subs = yahoo.open().map((c) => [...c.symbols].sort().join(","));
        return subs.includes(share(ids[0]!).join(",")) && subs.includes(share(ids[1]!).join(","));
      },
      10_000,
      "each process subscribed to its share only",
    );
    assert.ok(share(ids[0]!).length >= 2 && share(ids[1]!).length >= 2, JSON.stringify([...split]));

    // A tick for a symbol of p2 reaches p2's actor (and store), not p1's.
    const mine = share(ids[1]!)[0]!;
    yahoo.price({ id: mine, price: 123.45, time: Date.now(), quoteType: 8, marketHours: 1, priceHint: 2 });
    const owned = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^breadboard_actor_ticks_total\{outcome="applied"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    await until(async () => (await owned(p2.port)) === 1, 10_000, "p2 applied the tick");
    assert.equal(await owned(p1.port), 0);

    // p1 dies without a word; p2 takes everything within about one lease time.
    const killedAt = Date.now();
    p1.child.kill("SIGKILL");
    await p1.finished;
    await until(
      async () => {
        const l = await leaseOwners();
        return l.size === SYMBOLS.length && [...l.values()].every((o) => o === ids[1]);
      },
      10_000,
      "p2 owns every symbol",
    );
    const took = Date.now() - killedAt;
    assert.ok(took <= 2 * LEASE_MS + 1_000, `takeover took ${took} ms with a ${LEASE_MS} ms lease`);
    await until(
      () => yahoo.open().some((c) => SYMBOLS.every((s) => c.symbols.has(s))),
      10_000,
      "p2 streams every symbol",
    );
    p2.child.kill("SIGTERM");
    assert.equal((await p2.finished).code, 0);
    assert.equal((await leaseOwners()).size, 0, "a clean shutdown hands its leases back");
  } catch (err) {
    printLogs(named);
    throw err;
  } finally {
    leases?.close();
    // A failed run must not leave its members running into the next test.
    await killAll(Object.values(named));
    await yahoo.stop();
    await nats.stop();
    await Deno.remove(shared, { recursive: true });
  }
});
