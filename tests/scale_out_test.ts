/**
 * Many instances, one product: a real nats-server, two ROLE=all members sharing one KV and one ROLE=web instance,
 * each a real process, with WebSocket clients on every instance.
 */
import assert from "node:assert/strict";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { client } from "./api_client.ts";
import { type AppProcess, killAll, printLogs, startApp } from "./app_process.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { startNatsServer } from "./nats_server.ts";
import { evenMemberIds, LeaseReader, presetMemberId } from "./leases.ts";
import { until } from "./wait.ts";
import { updateTick } from "../schema/quote.ts";

const decoder = await createYahooDecoder();
const SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III", "JJJ"];
const LEASE_MS = 1_500;

type Frame = { type: string; symbol?: string; price?: number; time?: number; id?: string; ruleId?: string };

/** A WebSocket client that records every frame with its arrival time. */
class Socket {
  readonly frames: (Frame & { at: number })[] = [];
  closed = false;
  constructor(readonly ws: WebSocket, readonly where: string) {
    ws.onmessage = (ev) => {
      const at = Date.now();
      const f = JSON.parse(String(ev.data));
      // A batch carries the latest quote of each changed symbol: record each as it arrived.
      if (f.type === "batch") { for (const q of f.quotes) this.frames.push({ ...updateTick(q), type: "quote", at }); }
      else this.frames.push({ ...f, at });
    };
    ws.onclose = () => this.closed = true;
  }

  static async open(port: number, where: string, cookie?: string): Promise<Socket> {
    const init = cookie ? { headers: { Cookie: cookie } } : undefined;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/realtime`, init as unknown as string[] | undefined);
    const s = new Socket(ws, where);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    ws.send(JSON.stringify({ type: "subscribe", symbols: SYMBOLS }));
    await until(() => s.frames.some((f) => f.type === "snapshot"), 10_000, `${where}: snapshot`);
    return s;
  }

  tick(symbol: string, price: number) {
    return this.frames.find((f) => f.type === "quote" && f.symbol === symbol && f.price === price);
  }

  alerts(ruleId: string) {
    return this.frames.filter((f) => f.type === "alert" && f.ruleId === ruleId);
  }
}

async function health(port: number) {
  return await (await fetch(`http://127.0.0.1:${port}/api/v1/health`)).json();
}

function p99(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

Deno.test("two members and a web instance on NATS: every client sees every symbol, a user's alert reaches only that user on every instance, an owner's kill -9 and a NATS restart heal", async () => {
  const yahoo = startFakeYahoo(decoder);
  let nats = await startNatsServer();
  const shared = await Deno.makeTempDir({ prefix: "breadboard-scale-" });
  const kvPath = `${shared}/kv.sqlite3`;
  const base = {
    KV_PATH: kvPath,
    NATS_URL: nats.url,
    YAHOO_WS_URL: yahoo.url,
    SYMBOLS: SYMBOLS.join(","),
    ACTOR_LEASE_MS: String(LEASE_MS),
  };
  const procs: AppProcess[] = [];
  const named: Record<string, AppProcess> = {};
  const sockets: Socket[] = [];
  let leases: LeaseReader | undefined;
  try {
    // Member ids that split the symbols evenly; random ones now and then give one member all of them.
    const [idA, idB] = evenMemberIds(SYMBOLS, 2);
    await presetMemberId(`${shared}/a`, idA!);
    await presetMemberId(`${shared}/b`, idB!);
    const a = await startApp({ ...base, DATA_DIR: `${shared}/a` });
    procs.push(named.a = a);
    const b = await startApp({ ...base, DATA_DIR: `${shared}/b` });
    procs.push(named.b = b);
    const web = await startApp({ ...base, ROLE: "web", DATA_DIR: `${shared}/web` });
    procs.push(named.web = web);
    leases = await LeaseReader.open(kvPath);
    const leaseOwners = () => leases!.owners();
    assert.equal((await health(web.port)).role, "web");
    assert.equal((await health(web.port)).bus.name, "nats");
    // Several members with embedded stores say once where shared history belongs.
    await b.waitFor(/history is per process; set CLICKHOUSE_URL/);

    const ids = { a: idA!, b: idB! };
    let split = new Map<string, string>();
    await until(
      async () => {
        split = await leaseOwners();
        return split.size === SYMBOLS.length && new Set(split.values()).size === 2;
      },
      20_000,
      "symbols split between the two members",
    );
    // Each member streams exactly its share from the feed.
    await until(
      () => {
        const subs = yahoo.open().map((c) => c.symbols.size);
        return subs.length === 2 && subs.reduce((x, y) => x + y, 0) === SYMBOLS.length;
      },
      10_000,
      "each member subscribed to its share",
    );
    const ofA = SYMBOLS.filter((s) => split.get(s) === ids.a);
    assert.ok(ofA.length > 0 && ofA.length < SYMBOLS.length, JSON.stringify([...split]));

    // One user with a socket on each instance, and another user likewise.
    const user = client(`http://127.0.0.1:${web.port}`);
    const other = client(`http://127.0.0.1:${web.port}`);
    await user.call("GET", "/api/v1/rules");
    await other.call("GET", "/api/v1/rules");
    const where = { a, b, web };
    const mine: Socket[] = [];
    const theirs: Socket[] = [];
    for (const [name, p] of Object.entries(where)) {
      mine.push(await Socket.open(p.port, `user on ${name}`, user.cookie));
      theirs.push(await Socket.open(p.port, `other on ${name}`, other.cookie));
    }
    sockets.push(...mine, ...theirs);

    // Every client, whatever instance it is on, gets every symbol's ticks.
    const latencies: number[] = [];
    const send = (symbol: string, price: number) =>
      yahoo.price({
        id: symbol,
        price,
        time: Date.now(),
        quoteType: 8,
        marketHours: 1,
        priceHint: 2,
        previousClose: 100,
      });
    for (let round = 0; round < 5; round++) {
      const price = 100 + round / 100;
      const sentAt = new Map<string, number>();
      for (const s of SYMBOLS) {
        sentAt.set(s, Date.now());
        send(s, price);
      }
      await until(
        () => sockets.every((c) => SYMBOLS.every((s) => c.tick(s, price))),
        15_000,
        `round ${round}: every client has every symbol`,
      );
      for (const c of sockets) for (const s of SYMBOLS) latencies.push(c.tick(s, price)!.at - sentAt.get(s)!);
    }
    console.log(`cross-instance tick→client over NATS: p99 ${p99(latencies)} ms over ${latencies.length} deliveries`);

    // The latest quote is answered by the owner through any instance, fresh and marked so.
    const quote = await (await fetch(`http://127.0.0.1:${web.port}/api/v1/stocks/${ofA[0]}`)).json();
    assert.equal(quote.price, 100.04);
    assert.equal(quote.stale, false);

    // A rule saved through the web instance for a symbol member A owns fires there and reaches the user's sockets on
    // every instance, and nobody else's.
    const target = ofA[0]!;
    const saved = await user.call("POST", "/api/v1/rules", {
      symbol: target,
      kind: "price_above",
      price: 105,
      cooldownMs: 0,
    });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    const ruleId = saved.body.id as string;
    let price = 106;
    await until(
      () => {
        // Ticks keep coming until A has the rule (a change notice away) and its crossing shows on every socket.
        send(target, price += 0.01);
        send(target, 104);
        return mine.every((s) => s.alerts(ruleId).length > 0);
      },
      20_000,
      "the user's alert on every instance",
    );
    assert.ok(theirs.every((s) => s.alerts(ruleId).length === 0), "another user's sockets got the alert");

    // kill -9 of member A: B takes its symbols within the lease; sockets on B and the web instance stay open and
    // ticks resume for A's symbols; no alert is published twice.
    const alertIdsBefore = new Set(mine[1]!.alerts(ruleId).map((f) => f.id));
    a.child.kill("SIGKILL");
    await a.finished;
    procs.splice(procs.indexOf(a), 1);
    await until(
      async () => {
        const o = await leaseOwners();
        return SYMBOLS.every((s) => o.get(s) === ids.b);
      },
      20_000,
      "B owns every symbol",
    );
    const survivors = [mine[1]!, mine[2]!, theirs[1]!, theirs[2]!];
    const resumed = 110 + Math.round(Math.random() * 100) / 100;
    await until(
      () => {
        for (const s of ofA) send(s, resumed);
        return survivors.every((c) => ofA.every((s) => c.tick(s, resumed)));
      },
      20_000,
      "ticks of A's symbols resume on B and the web instance",
    ).catch(async (err) => {
      console.log(await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text());
      console.log(JSON.stringify(yahoo.open().map((c) => [...c.symbols])));
      console.log(survivors.map((s) => s.frames.slice(-3)));
      throw err;
    });
    assert.ok(survivors.every((s) => !s.closed), "a surviving instance's socket closed");
    for (const s of [mine[1]!, mine[2]!]) {
      const ids = s.alerts(ruleId).map((f) => f.id);
      assert.equal(new Set(ids).size, ids.length, `${s.where}: an alert twice`);
    }
    assert.ok(alertIdsBefore.size > 0);

    // NATS restarted: health says degraded, naming the bus, while it is down; every instance reconnects and
    // fan-out resumes.
    const port = nats.port;
    await nats.stop();
    for (const p of [b, web]) {
      await until(
        async () => {
          const h = await health(p.port);
          return h.status === "degraded" && h.bus.ok === false && h.bus.name === "nats";
        },
        20_000,
        "degraded while NATS is down",
      );
    }
    nats = await startNatsServer(port);
    for (const p of [b, web]) {
      await until(async () => (await health(p.port)).bus.ok === true, 30_000, "bus back");
    }
    const after = 111 + Math.round(Math.random() * 100) / 100;
    await until(
      () => {
        for (const s of SYMBOLS) send(s, after);
        return survivors.every((c) => SYMBOLS.every((s) => c.tick(s, after)));
      },
      30_000,
      "fan-out resumed after the NATS restart",
    );

    // Simultaneous shutdown of every member is clean.
    for (const s of sockets) s.ws.close();
    for (const p of procs) p.child.kill("SIGTERM");
    const exits = await Promise.all(procs.map((p) => p.finished));
    assert.deepEqual(exits.map((e) => e.code), procs.map(() => 0), exits.map((e) => e.stderr).join("\n"));
    procs.length = 0;
  } catch (err) {
    printLogs(named);
    throw err;
  } finally {
    leases?.close();
    for (const s of sockets) if (!s.closed) s.ws.close();
    await killAll(procs);
    await yahoo.stop();
    await nats.stop();
    await Deno.remove(shared, { recursive: true });
  }
});

Deno.test("a second member sharing a KV without NATS_URL refuses to start, naming NATS_URL", async () => {
  const shared = await Deno.makeTempDir({ prefix: "breadboard-alone-" });
  const env = { KV_PATH: `${shared}/kv.sqlite3`, SYMBOLS: "AAA" };
  const first = await startApp({ ...env, DATA_DIR: `${shared}/a` });
  const leases = await LeaseReader.open(`${shared}/kv.sqlite3`);
  try {
    await until(async () => (await leases.owners()).size === 1, 20_000, "first member holds AAA");
    const { spawnApp } = await import("./app_process.ts");
    const second = spawnApp({ ...env, PORT: "0", DATA_DIR: `${shared}/b` });
    const { code, stderr } = await second.finished;
    assert.equal(code, 2);
    const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("{"));
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /set NATS_URL/);
  } finally {
    leases.close();
    first.child.kill("SIGTERM");
    assert.equal((await first.finished).code, 0);
    await Deno.remove(shared, { recursive: true });
  }
});

Deno.test("ROLE=web runs with only --allow-net --allow-env --allow-read on Deno.openKv(), and streams what ROLE=ingest publishes", async () => {
  const yahoo = startFakeYahoo(decoder);
  const nats = await startNatsServer();
  const dir = await Deno.makeTempDir({ prefix: "breadboard-roles-" });
  const procs: AppProcess[] = [];
  try {
    const ingest = await startApp({
      ROLE: "ingest",
      NATS_URL: nats.url,
      DATA_DIR: dir,
      YAHOO_WS_URL: yahoo.url,
      SYMBOLS: "AAA,BBB",
    });
    procs.push(ingest);
    const web = await startApp(
      { NATS_URL: nats.url, SYMBOLS: "AAA,BBB" },
      undefined,
      "web.ts",
      ["--allow-net", "--allow-env", "--allow-read"],
    );
    procs.push(web);
    // The ingest role serves health and metrics only; the web role the product.
    assert.equal((await fetch(`http://127.0.0.1:${ingest.port}/`)).status, 404);
    assert.equal((await health(ingest.port)).role, "ingest");
    const h = await health(web.port);
    assert.equal(h.role, "web");
    assert.equal(h.feed, undefined);
    assert.equal((await fetch(`http://127.0.0.1:${web.port}/`)).status, 200);
    const history = await fetch(
      `http://127.0.0.1:${web.port}/api/v1/history?symbol=AAA&from=1700000000000&to=1700000600000`,
    );
    assert.equal(history.status, 503);
    assert.match((await history.json()).error.message, /CLICKHOUSE_URL/);

    await until(() => yahoo.open().some((c) => c.symbols.has("AAA")), 20_000, "ingest subscribed");
    const s = await Socket.open(web.port, "web");
    await until(
      () => {
        yahoo.price({ id: "AAA", price: 42.5, time: Date.now(), quoteType: 8, marketHours: 1, priceHint: 2 });
        return s.tick("AAA", 42.5) !== undefined;
      },
      15_000,
      "a tick through ingest and NATS to the web instance's socket",
    );
    s.ws.close();
    for (const p of procs) p.child.kill("SIGTERM");
    const exits = await Promise.all(procs.map((p) => p.finished));
    assert.deepEqual(exits.map((e) => e.code), [0, 0], exits.map((e) => e.stderr).join("\n"));
    procs.length = 0;
  } finally {
    await killAll(procs);
    await yahoo.stop();
    await nats.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
