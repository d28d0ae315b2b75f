import assert from "node:assert/strict";
import type { Quote } from "../actors/symbol_actor.ts";
import type { Alert } from "../schema/alert.ts";
import { Hub } from "./ws.ts";

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
  dayHigh: price,
  dayLow: price,
  previousClose: 0,
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

function setup() {
  let now = 0;
  const hub = new Hub({
    quotes: () => [],
    highWaterBytes: 1_000,
    maxBehindMs: 5_000,
    drainMs: 3_600_000,
    now: () => now,
  });
  const join = (user: string, symbols: string[]) => {
    const s = new TestSocket();
    hub.accept(s as unknown as WebSocket, user);
    s.onopen?.();
    s.say({ type: "subscribe", symbols });
    return s;
  };
  return { hub, join, advance: (ms: number) => (now += ms) };
}

const types = (s: TestSocket) => s.sent.map((f) => f.type === "tick" ? `${f.symbol}@${f.price}` : String(f.type));

Deno.test("Hub conflates ticks for a client that is behind, keeps its alerts, and the others get everything", () => {
  const { hub, join, advance } = setup();
  const fast = join("u1", ["AAPL", "MSFT"]);
  const slow = join("u2", ["AAPL", "MSFT"]);
  slow.bufferedAmount = 5_000; // its socket stopped draining
  for (let i = 0; i < 100; i++) hub.quote(quote(i % 2 ? "MSFT" : "AAPL", 100 + i));
  hub.alert(alert("AAPL", ""));
  hub.quote(quote("AAPL", 500));
  assert.equal(fast.sent.filter((f) => f.type === "tick").length, 101, "the fast client got every tick");
  assert.deepEqual(types(slow), ["snapshot"]);
  assert.equal(hub.stats().ticksConflated, 99);
  slow.bufferedAmount = 0;
  advance(1_000);
  hub.drain();
  // The alert, then only the latest tick of each symbol.
  assert.deepEqual(types(slow), ["snapshot", "alert", "AAPL@500", "MSFT@199"]);
  hub.quote(quote("AAPL", 501));
  assert.deepEqual(types(slow).at(-1), "AAPL@501", "caught up: ticks go straight through again");
  hub.close();
  assert.deepEqual(fast.closedWith, [1001, "server shutting down"]);
});

Deno.test("Hub disconnects a client that stays behind, with a reason, and only that one", () => {
  const { hub, join, advance } = setup();
  const fast = join("u1", ["AAPL"]);
  const slow = join("u2", ["AAPL"]);
  slow.bufferedAmount = 5_000;
  hub.quote(quote("AAPL", 1));
  advance(4_000);
  hub.drain();
  assert.equal(slow.closedWith, undefined, "4 s behind is tolerated");
  advance(2_000);
  hub.drain();
  assert.deepEqual(slow.closedWith, [4008, "too slow: behind for more than 5 s"]);
  assert.equal(hub.stats().slowDisconnects, 1);
  hub.quote(quote("AAPL", 2));
  assert.deepEqual(types(fast), ["snapshot", "AAPL@1", "AAPL@2"]);
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
