import assert from "node:assert/strict";
import { mergeQuoteUpdate, type Quote, type QuoteUpdate, tickRow, updateTick } from "../schema/quote.ts";
import type { Alert } from "../schema/alert.ts";
import { Hub } from "./ws.ts";
import { socketOutlet, type WsOutlet } from "./frame_channel.ts";

/** A socket the hub can drive, with a send buffer the test fills and drains by hand. */
class TestSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: [number, string] | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  send(frame: string) {
    this.sent.push(JSON.parse(frame));
  }
  close(code: number, reason: string) {
    this.closedWith = [code, reason];
    this.readyState = WebSocket.CLOSED;
  }
  say(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

const quote = (symbol: string, price: number): Quote => ({
  symbol,
  price,
  time: 1,
  change: 0,
  changePercent: 0,
  dayVolume: 0,
  open: price,
  dayHigh: price,
  dayLow: price,
  previousClose: 0,
  day: 0,
  marketHours: "regular",
  exchange: "",
  currency: "USD",
  source: "synthetic",
  priceHint: 2,
});
const alert = (symbol: string, userId: string): Alert => ({
  id: `a-${symbol}-${userId}`,
  time: 1,
  symbol,
  ruleId: "r",
  userId,
  kind: "price_above",
  window: "",
  message: "m",
  price: 1,
  changePercent: 0,
});

function setup(sliceMs?: number) {
  let now = 0;
  const hub = new Hub({
    quotes: () => [],
    highWaterBytes: 1_000,
    maxBehindMs: 5_000,
    flushMs: 0,
    now: () => now,
    ...(sliceMs === undefined ? {} : { sliceMs, clock: () => 0 }),
  });
  /** `threaded`: its frames go through an outlet another thread writes, as behind the connection guard. */
  const join = (user: string, symbols: string[], ticks?: boolean, threaded = false) => {
    const s = new TestSocket();
    hub.accept(s as unknown as WebSocket, user, "", threaded ? threadOutlet(s) : undefined);
    s.onopen?.();
    s.say({ type: "subscribe", symbols, ...(ticks === undefined ? {} : { ticks }) });
    return s;
  };
  return { hub, join, advance: (ms: number) => (now += ms) };
}

/** An outlet whose frames another thread writes (here at once); its unsent bytes are the socket's. */
const threadOutlet = (s: TestSocket): WsOutlet =>
  Object.assign(socketOutlet(s as unknown as WebSocket), { settled: () => Promise.resolve() });

/** Frames as short strings: a batch lists its quotes as SYMBOL@price. */
const types = (s: TestSocket) =>
  s.sent.map((f) =>
    f.type === "batch"
      ? `batch ${(f.quotes as QuoteUpdate[]).map(updateTick).map((q) => `${q.symbol}@${q.price}`).join(" ")}`
      : String(f.type)
  );

Deno.test("Hub sends one batch per flush with the latest quote of each changed symbol; alerts go at once", async () => {
  const { hub, join } = setup();
  const a = join("u1", ["AAPL", "MSFT"]);
  const b = join("u2", ["MSFT"]);
  for (let i = 0; i < 100; i++) hub.quote(quote(i % 2 ? "MSFT" : "AAPL", 100 + i));
  hub.alert(alert("AAPL", ""));
  assert.deepEqual(types(a), ["snapshot", "alert"], "nothing but the alert before the flush");
  await hub.flush();
  assert.deepEqual(types(a), ["snapshot", "alert", "batch AAPL@198 MSFT@199"]);
  assert.deepEqual(types(b), ["snapshot", "batch MSFT@199"]);
  await hub.flush();
  assert.equal(a.sent.length, 3, "no frame when nothing changed");
  assert.equal(hub.stats().quotesSent, 3);
  hub.close();
});

Deno.test("Hub sends every print, in order, of the symbols a client takes tick by tick", async () => {
  const { hub, join } = setup();
  const chart = join("u1", ["AAPL"], true);
  const tiles = join("u2", ["AAPL", "MSFT"]);
  chart.say({ type: "subscribe", symbols: ["MSFT"] });
  for (const p of [1, 2, 3]) hub.quote(quote("AAPL", p));
  hub.quote(quote("MSFT", 7));
  hub.quote(quote("MSFT", 8));
  await hub.flush();
  assert.deepEqual(types(chart).at(-1), "batch AAPL@1 AAPL@2 AAPL@3 MSFT@8");
  assert.deepEqual(types(tiles).at(-1), "batch AAPL@3 MSFT@8");
  chart.say({ type: "subscribe", symbols: ["AAPL"], ticks: false });
  for (const p of [4, 5]) hub.quote(quote("AAPL", p));
  await hub.flush();
  assert.deepEqual(types(chart).at(-1), "batch AAPL@5");
  hub.close();
});

Deno.test("Hub: a quote that arrives mid-flush reaches the clients whose turn is to come in that flush, the rest in the next", async () => {
  // Slices of 0 ms: the flush yields after every 16 clients.
  const { hub, join } = setup(0);
  const charts = Array.from({ length: 20 }, (_, i) => join(`c${i}`, ["AAPL"], true));
  const tile = join("t", ["AAPL", "MSFT"]);
  hub.quote(quote("AAPL", 1));
  const flushing = hub.flush();
  // The flush is at its first yield: the first 16 clients, in the order they connected, have their frames.
  assert.deepEqual(charts.map((c) => types(c).length), [...Array(16).fill(2), ...Array(4).fill(1)]);
  hub.quote(quote("AAPL", 2));
  hub.quote(quote("MSFT", 3));
  await flushing;
  for (const c of charts.slice(16)) assert.deepEqual(types(c), ["snapshot", "batch AAPL@1 AAPL@2"]);
  assert.deepEqual(types(tile), ["snapshot", "batch AAPL@2 MSFT@3"], "the latest of each, as its turn came");
  await hub.flush();
  for (const c of charts.slice(0, 16)) assert.deepEqual(types(c), ["snapshot", "batch AAPL@1", "batch AAPL@2"]);
  for (const c of charts.slice(16)) assert.equal(c.sent.length, 2, "no print twice");
  assert.equal(tile.sent.length, 2, "nothing new for the tile");
  hub.quote(quote("AAPL", 4));
  await hub.flush();
  for (const c of [...charts, tile]) assert.deepEqual(types(c).at(-1), "batch AAPL@4");
  hub.close();
});

Deno.test("Hub: a client whose last frame the guard's thread has not written skips its turn; its next turn takes the latest", async () => {
  const { hub, join } = setup();
  const busy = join("u1", ["AAPL"], undefined, true);
  const other = join("u2", ["AAPL"], undefined, true);
  const chart = join("u3", ["AAPL"], true, true);
  const liveChart = join("u4", ["AAPL"], true, true);
  // A socket this thread writes gets its frame: unsent bytes there are the client's to read.
  const direct = join("u5", ["AAPL"]);
  direct.bufferedAmount = 500;
  hub.quote(quote("AAPL", 1));
  busy.bufferedAmount = 500; // under the high-water mark (1,000): not behind, but its last frame is not written yet
  chart.bufferedAmount = 500;
  await hub.flush();
  assert.deepEqual(types(busy), ["snapshot"]);
  assert.deepEqual(types(chart), ["snapshot"]);
  assert.deepEqual(types(other), ["snapshot", "batch AAPL@1"]);
  assert.deepEqual(types(direct), ["snapshot", "batch AAPL@1"]);
  hub.quote(quote("AAPL", 2));
  await hub.flush();
  assert.deepEqual(types(busy), ["snapshot"], "still unsent: no frame queued behind it");
  busy.bufferedAmount = 0;
  chart.bufferedAmount = 0;
  await hub.flush(); // no new quote: the clients that skipped their turns are listed again on their own
  assert.deepEqual(types(busy), ["snapshot", "batch AAPL@2"], "only the latest");
  assert.deepEqual(types(chart), ["snapshot", "batch AAPL@1 AAPL@2"], "every print it has not had, in order");
  assert.deepEqual(types(liveChart), ["snapshot", "batch AAPL@1", "batch AAPL@2"]);
  assert.deepEqual(types(other), ["snapshot", "batch AAPL@1", "batch AAPL@2"]);
  assert.equal(hub.stats().heldBack, 0, "never counted as behind");
  hub.close();
});

Deno.test("Hub conflates quotes for a client that is behind, keeps its alerts, and the others get everything", async () => {
  const { hub, join, advance } = setup();
  const fast = join("u1", ["AAPL", "MSFT"]);
  const slow = join("u2", ["AAPL", "MSFT"]);
  slow.bufferedAmount = 5_000; // its socket stopped draining
  for (let i = 0; i < 100; i++) {
    hub.quote(quote(i % 2 ? "MSFT" : "AAPL", 100 + i));
    await hub.flush();
  }
  hub.alert(alert("AAPL", ""));
  hub.quote(quote("AAPL", 500));
  await hub.flush();
  assert.equal(fast.sent.filter((f) => f.type === "batch").length, 101, "the fast client got every flush");
  assert.deepEqual(types(slow), ["snapshot"]);
  slow.bufferedAmount = 0;
  advance(1_000);
  await hub.flush();
  // The alert, then only the latest quote of each symbol: 51 quotes of AAPL and 50 of MSFT, 99 of them replaced.
  assert.deepEqual(types(slow), ["snapshot", "alert", "batch AAPL@500 MSFT@199"]);
  assert.equal(hub.stats().ticksConflated, 99);
  hub.quote(quote("AAPL", 501));
  await hub.flush();
  assert.deepEqual(types(slow).at(-1), "batch AAPL@501", "caught up: quotes go out every flush again");
  hub.close();
  assert.deepEqual(fast.closedWith, [1001, "server shutting down"]);
});

Deno.test("Hub disconnects a client that stays behind, with a reason, and only that one", async () => {
  const { hub, join, advance } = setup();
  const fast = join("u1", ["AAPL"]);
  const slow = join("u2", ["AAPL"]);
  slow.bufferedAmount = 5_000;
  hub.quote(quote("AAPL", 1));
  await hub.flush();
  advance(4_000);
  await hub.flush();
  assert.equal(slow.closedWith, undefined, "4 s behind is tolerated");
  advance(2_000);
  await hub.flush();
  assert.deepEqual(slow.closedWith, [4008, "too slow: behind for more than 5 s"]);
  assert.equal(hub.stats().slowDisconnects, 1);
  hub.quote(quote("AAPL", 2));
  await hub.flush();
  assert.deepEqual(types(fast), ["snapshot", "batch AAPL@1", "batch AAPL@2"]);
  assert.equal(hub.stats().clients, 1);
  hub.close();
});

Deno.test("Hub sends a user's own rule alerts only to that user; built-in alerts to every subscriber", () => {
  const { hub, join } = setup();
  const alice = join("alice", ["AAPL"]);
  const bob = join("bob", ["AAPL"]);
  const carol = join("carol", ["MSFT"]);
  hub.alert(alert("AAPL", "alice"));
  hub.alert(alert("AAPL", ""));
  hub.alert(alert("TSLA", "carol")); // carol's own rule on a symbol she is not watching here
  assert.deepEqual(alice.sent.filter((f) => f.type === "alert").map((f) => f.id), ["a-AAPL-alice", "a-AAPL-"]);
  assert.deepEqual(bob.sent.filter((f) => f.type === "alert").map((f) => f.id), ["a-AAPL-"]);
  assert.deepEqual(carol.sent.filter((f) => f.type === "alert").map((f) => f.id), ["a-TSLA-carol"]);
  hub.close();
});

Deno.test("Hub forgets a symbol when its last subscriber leaves, by unsubscribe or by closing", () => {
  const hub = new Hub({ quotes: () => [], maxMessagesPerSecond: 1_000_000 });
  const a = new TestSocket();
  const b = new TestSocket();
  hub.accept(a as unknown as WebSocket, "u1", "10.0.0.1");
  hub.accept(b as unknown as WebSocket, "u2", "10.0.0.2");
  a.onopen?.();
  b.onopen?.();
  for (let i = 0; i < 50; i++) {
    const symbols = Array.from({ length: 200 }, (_, k) => `S${i}X${k}`);
    a.say({ type: "subscribe", symbols });
    a.say({ type: "unsubscribe", symbols });
  }
  assert.equal(hub.topicCount(), 0, "10,000 distinct symbols come and go without a trace");
  b.say({ type: "subscribe", symbols: ["AAPL", "MSFT"] });
  a.say({ type: "subscribe", symbols: ["AAPL"] });
  assert.equal(hub.topicCount(), 2);
  b.onclose?.();
  assert.equal(hub.topicCount(), 1);
  a.onclose?.();
  assert.equal(hub.topicCount(), 0);
});

Deno.test("Hub admits connections up to its total and per-address limits, counting ones still opening", () => {
  const hub = new Hub({ quotes: () => [], maxClients: 3, maxClientsPerAddress: 2 });
  const sockets = [new TestSocket(), new TestSocket()];
  assert.equal(hub.admits("10.0.0.1"), undefined);
  hub.accept(sockets[0] as unknown as WebSocket, "u", "10.0.0.1");
  hub.accept(sockets[1] as unknown as WebSocket, "u", "10.0.0.1"); // not open yet: still counted
  assert.match(hub.admits("10.0.0.1")!, /at most 2 WebSocket connections per client address/);
  assert.equal(hub.admits("10.0.0.2"), undefined);
  hub.accept(new TestSocket() as unknown as WebSocket, "u", "10.0.0.2");
  assert.match(hub.admits("10.0.0.3")!, /at most 3 WebSocket connections/);
  sockets[0]!.onclose?.();
  assert.equal(hub.admits("10.0.0.1"), undefined, "a closed connection frees its place");
});

Deno.test("Hub timer: a change after a quiet spell goes out at once, and later ones wait for the interval", async () => {
  // An interval no test run reaches: a second frame can only come from the leading edge, never from the timer.
  const hub = new Hub({ quotes: () => [], flushMs: 600_000 });
  const s = new TestSocket();
  let sent: () => void = () => {};
  const send = s.send.bind(s);
  s.send = (frame: string) => {
    send(frame);
    sent();
  };
  hub.accept(s as unknown as WebSocket, "u1");
  s.onopen?.();
  s.say({ type: "subscribe", symbols: ["AAPL", "MSFT"] });
  const next = () => new Promise<void>((r) => sent = r);

  // A synchronous burst after a quiet spell: one frame on the next turn of the event loop, not 600 s later.
  const first = next();
  for (let i = 0; i < 10; i++) hub.quote(quote(i % 2 ? "MSFT" : "AAPL", 100 + i));
  assert.deepEqual(types(s), ["snapshot"], "not sent synchronously: the burst shares the frame");
  await first;
  assert.deepEqual(types(s), ["snapshot", "batch AAPL@108 MSFT@109"]);

  // Within the interval: held for the next flush, which the test runs by hand.
  hub.quote(quote("AAPL", 200));
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(hub.stats().flushes, 1, "no second flush inside the interval");
  assert.deepEqual(types(s).length, 2);
  await hub.flush();
  assert.deepEqual(types(s).at(-1), "batch AAPL@200");
  hub.close();
});

/**
 * 64 clients following AAPL on `hub`, whose clock is `time`, and a measure: flushes with frames of `ms` each until the
 * interval settles, then one flush the virtual clock stands still in (so every turn of the event loop it waits for is
 * its own spreading). It gives the interval before that flush and the turn of the event loop each client's frame went
 * out in, counted by a timer chain.
 */
function turnsOfAStretchedFlush(hub: Hub, time: { now: number }) {
  let sendMs = 0;
  let turn = 0;
  const turns: number[][] = [];
  const sockets = Array.from({ length: 64 }, (_, k) => {
    const s = new TestSocket();
    const send = s.send.bind(s);
    turns.push([]);
    s.send = (frame: string) => {
      send(frame);
      turns[k]!.push(turn);
      time.now += sendMs;
    };
    hub.accept(s as unknown as WebSocket, `u${k}`);
    s.onopen?.();
    s.say({ type: "subscribe", symbols: ["AAPL"] });
    return s;
  });
  let price = 100;
  return async (ms: number) => {
    sendMs = ms;
    for (let i = 0; i < 20; i++) {
      hub.quote(quote("AAPL", ++price));
      await hub.flush();
    }
    const interval = hub.stats().flushIntervalMs;
    sendMs = 0;
    let counting = true;
    const count = () => {
      turn++;
      if (counting) setTimeout(count, 0);
    };
    setTimeout(count, 0);
    for (const t of turns) t.length = 0;
    hub.quote(quote("AAPL", ++price));
    await hub.flush();
    counting = false;
    assert.ok(sockets.every((s) => types(s).at(-1) === `batch AAPL@${price}`), "every client had its turn");
    return { interval, at: turns.map((t) => t[0]!) };
  };
}

for (const cpu of ["a CPU clock", "no CPU clock"]) {
  /**
   * A hub flushing every 50 ms on a virtual clock. All of its time is work: with a CPU clock it says so, without one
   * the flush's duration stands for it.
   */
  const virtualHub = () => {
    const time = { now: 0 };
    const hub = new Hub({
      quotes: () => [],
      flushMs: 50,
      clock: () => time.now,
      cpu: cpu === "a CPU clock" ? () => time.now : undefined,
    });
    return { hub, time };
  };

  Deno.test(`Hub moves its flush interval a fifth of the way toward 1.5x a flush's work, and back (${cpu})`, async () => {
    const { hub, time } = virtualHub();
    const s = new TestSocket();
    let sendMs = 0;
    const send = s.send.bind(s);
    // Each frame takes the virtual clock forward by `sendMs`: how long the flush seems to take.
    s.send = (frame: string) => {
      send(frame);
      time.now += sendMs;
    };
    hub.accept(s as unknown as WebSocket, "u1");
    s.onopen?.();
    s.say({ type: "subscribe", symbols: ["AAPL"] });
    let price = 100;
    const flushTaking = async (ms: number) => {
      sendMs = ms;
      hub.quote(quote("AAPL", ++price));
      await hub.flush();
      return hub.stats().flushIntervalMs;
    };
    assert.equal(hub.stats().flushIntervalMs, 50);
    assert.equal(await flushTaking(100), 70, "a 100 ms flush: a fifth of the way from 50 toward 150 ms");
    for (let i = 0; i < 30; i++) await flushTaking(100);
    assert.ok(Math.abs(hub.stats().flushIntervalMs - 150) < 0.5, `${hub.stats().flushIntervalMs}: 100 ms flushes, 150`);
    const once = await flushTaking(20);
    assert.ok(Math.abs(once - 130) < 0.5, `${once}: one short flush moves it a fifth of the way back, not all of it`);
    for (let i = 0; i < 30; i++) await flushTaking(20);
    assert.ok(Math.abs(hub.stats().flushIntervalMs - 50) < 0.5, "20 ms flushes: back to the configured 50 ms");
    assert.equal(types(s).filter((t) => t.startsWith("batch")).length, 62, "one frame per flush");
    hub.close();
  });

  Deno.test(`Hub ${cpu === "a CPU clock" ? "spreads" : "does not spread"} a stretched flush's turns (${cpu})`, async () => {
    const { hub, time } = virtualHub();
    const measure = turnsOfAStretchedFlush(hub, time);
    // 64 frames of 1 ms: stretched toward 96 ms, under twice the 50 ms configured. The turns go at once.
    const mild = await measure(1);
    assert.ok(mild.interval > 85 && mild.interval < 100, `${mild.interval}`);
    assert.ok(mild.at.every((t) => t === mild.at[0]), `all in one turn of the event loop: ${mild.at.join(",")}`);
    // 64 frames of 2 ms: stretched toward 192 ms.
    const far = await measure(2);
    assert.ok(far.interval > 100, `${far.interval}`);
    const at = far.at;
    if (cpu === "a CPU clock") {
      // Turns go 16 clients at a time, each group after the flush waited for its share of the interval.
      for (const k of [16, 32, 48]) assert.ok(at[k]! > at[k - 1]!, `client ${k} waited: ${at.join(",")}`);
      for (const k of [1, 17, 33, 49]) assert.equal(at[k], at[k - 1], "within a group, one turn");
    } else {
      assert.ok(at.every((t) => t === at[0]), `all in one turn of the event loop: ${at.join(",")}`);
    }
    hub.close();
  });
}

Deno.test("Hub never spreads the turns of a flush without a timer (flushMs 0: its caller sets the pace)", async () => {
  const time = { now: 0 };
  const hub = new Hub({ quotes: () => [], flushMs: 0, clock: () => time.now, cpu: () => time.now });
  const { interval, at } = await turnsOfAStretchedFlush(hub, time)(2);
  assert.ok(interval > 100, `${interval}: stretched`);
  assert.ok(at.every((t) => t === at[0]), `all in one turn of the event loop: ${at.join(",")}`);
  hub.close();
});

Deno.test("Hub sends a quote as its tick row unless its other fields changed; merged, they give every whole quote", async () => {
  const { hub, join } = setup();
  const s = join("u1", ["AAPL"]);
  const q1 = quote("AAPL", 100);
  hub.quote(q1);
  await hub.flush();
  const q2 = { ...q1, price: 101, time: 2, dayHigh: 101 };
  hub.quote(q2);
  await hub.flush();
  // A new trading day: open, previous close and day move; a later tick in the same flush must not hide that.
  const q3 = { ...q2, price: 102, time: 3, day: 86_400_000, previousClose: 101, open: 102 };
  const q4 = { ...q3, price: 103, time: 4 };
  hub.quote(q3);
  hub.quote(q4);
  await hub.flush();
  const q5 = { ...q4, price: 104, time: 5, dayHigh: 104 };
  hub.quote(q5);
  await hub.flush();

  const batches = s.sent.filter((f) => f.type === "batch").map((f) => (f.quotes as QuoteUpdate[])[0]!);
  assert.equal(batches.length, 4);
  assert.deepEqual(batches[0], q1, "the first quote of a symbol is whole");
  assert.deepEqual(batches[1], ["AAPL", 101, 2, q1.change, q1.changePercent, q1.dayVolume, 101, q1.dayLow]);
  assert.deepEqual(batches[1], tickRow(q2), "then its tick row");
  assert.deepEqual(batches[2], q4, "whole when fields other than the tick's changed since the last flush");
  assert.deepEqual(batches[3], tickRow(q5));
  // What a client does with them: every merged quote equals the whole quote the server had.
  let known: Quote | undefined;
  const merged = batches.map((u) => (known = mergeQuoteUpdate(known, u as QuoteUpdate)));
  assert.deepEqual(merged, [q1, q2, q4, q5]);
  assert.equal(mergeQuoteUpdate(undefined, batches[1] as QuoteUpdate), undefined, "a tick row needs a whole quote");
  hub.close();
});

Deno.test("Hub holds a slow client's quotes whole, so a change of day under conflation is not lost", async () => {
  const { hub, join } = setup();
  const slow = join("u1", ["AAPL"]);
  hub.quote(quote("AAPL", 100));
  await hub.flush();
  slow.bufferedAmount = 5_000; // behind
  const newDay = { ...quote("AAPL", 90), time: 2, day: 86_400_000, previousClose: 100 };
  hub.quote(newDay);
  await hub.flush();
  hub.quote({ ...newDay, price: 91, time: 3 });
  await hub.flush();
  slow.bufferedAmount = 0;
  await hub.flush();
  const last = slow.sent.at(-1)!;
  assert.equal(last.type, "batch");
  assert.deepEqual((last.quotes as Quote[])[0], { ...newDay, price: 91, time: 3 });
  hub.close();
});

Deno.test("Hub: a flush through an outlet written by another thread ends once that thread took its frames", async () => {
  let clock = 0;
  const hub = new Hub({ quotes: () => [], flushMs: 50, clock: () => clock, cpu: () => 0 });
  const s = new TestSocket();
  const taken: (() => void)[] = [];
  const outlet: WsOutlet = {
    send: (frame) => s.send(frame),
    close: (code, reason) => s.close(code, reason),
    get bufferedAmount() {
      return s.bufferedAmount;
    },
    open: true,
    settled: () => new Promise<void>((r) => taken.push(r)),
  };
  hub.accept(s as unknown as WebSocket, "u1", "", outlet);
  s.onopen?.();
  s.say({ type: "subscribe", symbols: ["AAPL"] });
  hub.quote(quote("AAPL", 101));
  let ended = false;
  const flushing = hub.flush().then(() => ended = true);
  assert.deepEqual(types(s), ["snapshot", "batch AAPL@101"], "the frame went to the outlet");
  assert.equal(taken.length, 1, "the flush waits on the outlet's thread");
  assert.equal(ended, false);
  clock += 200; // the other thread took 200 ms to write the flush's frames
  taken[0]!();
  await flushing;
  assert.equal(hub.stats().flushIntervalMs, 80, "a fifth of the way from 50 ms toward the 200 ms the writes took");
  hub.close();
});
