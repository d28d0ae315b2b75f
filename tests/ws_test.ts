import assert from "node:assert/strict";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { startApp } from "./app_process.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { until } from "./wait.ts";
import type { Quote } from "../schema/quote.ts";
import { quotesOf, type ServerMessage } from "../schema/ws_messages.ts";

const decoder = await createYahooDecoder();

/** A real WebSocket client that records every frame it gets. */
async function connect(port: number, cookie?: string) {
  // Deno's WebSocket takes request headers as a second argument; the browser typing the island UI brings into a
  // whole-project check knows only protocols there.
  const init = cookie ? { headers: { Cookie: cookie } } : undefined;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/realtime`, init as unknown as string[] | undefined);
  const frames: Record<string, unknown>[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
  ws.onclose = (e) => (closed = { code: e.code, reason: e.reason });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return {
    ws,
    frames,
    get closed() {
      return closed;
    },
    send: (m: unknown) => ws.send(typeof m === "string" ? m : JSON.stringify(m)),
    of: (type: string) => frames.filter((f) => f.type === type),
    /** Every quote the batch frames carried, in order, merged whole onto what came before. */
    quotes: () => {
      const known = new Map<string, Quote>();
      return frames.flatMap((f) => {
        const quotes = quotesOf(f as ServerMessage, known);
        return f.type === "batch" ? quotes : [];
      });
    },
  };
}

Deno.test("WebSocket clients get a snapshot on subscribe, then batches (every print when asked) and alerts", async () => {
  const yahoo = startFakeYahoo(decoder);
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-ws-" });
  const app = await startApp({ DATA_DIR: dataDir, YAHOO_WS_URL: yahoo.url, SYMBOLS: "AAPL,MSFT" });
  try {
    await until(() => yahoo.open().some((c) => c.symbols.has("AAPL")), 20_000, "subscribed");
    const t0 = Date.now() - 30_000;
    const q = (id: string, price: number, dt: number) => ({
      id,
      price,
      time: t0 + dt,
      quoteType: 8,
      marketHours: 1,
      priceHint: 2,
      previousClose: 100,
    });
    yahoo.price(q("AAPL", 101, 0));
    const a = await connect(app.port);
    const b = await connect(app.port);
    await until(async () => (await fetch(`http://127.0.0.1:${app.port}/api/v1/stocks/AAPL`)).status === 200);
    a.send({ type: "subscribe", symbols: ["aapl"], ticks: true });
    b.send({ type: "subscribe", symbols: ["MSFT"] });
    await until(() => a.of("snapshot").length === 1 && b.of("snapshot").length === 1);
    assert.deepEqual(
      (a.of("snapshot")[0]!.quotes as { symbol: string; price: number }[]).map((x) => [x.symbol, x.price]),
      [["AAPL", 101]],
    );
    assert.deepEqual(b.of("snapshot")[0]!.quotes, [], "MSFT has not ticked yet");

    yahoo.price(q("AAPL", 102, 1_000));
    yahoo.price(q("MSFT", 400, 1_000));
    yahoo.price(q("AAPL", 94, 2_000)); // -6 % on the day: the built-in alert
    await until(() => a.quotes().length === 2 && a.of("alert").length === 1, 10_000, "ticks and alert for a");
    assert.deepEqual(a.quotes().map((t) => [t.symbol, t.price, t.changePercent]), [["AAPL", 102, 2], [
      "AAPL",
      94,
      -6,
    ]]);
    assert.equal(a.of("alert")[0]!.message, "AAPL is down 6.0% today at 94.00");
    await until(() => b.quotes().length === 1);
    assert.deepEqual(b.quotes().map((t) => t.symbol), ["MSFT"], "b sees only what it subscribed to");
    assert.equal(b.of("alert").length, 0);

    a.send({ type: "unsubscribe", symbols: ["AAPL"] });
    a.send({ type: "ping" });
    await until(() => a.of("pong").length === 1);
    // A witness still following AAPL: once it has the next quote, that flush is done for every client, and a's pong
    // after it comes behind anything that flush sent a.
    const witness = await connect(app.port);
    witness.send({ type: "subscribe", symbols: ["AAPL"] });
    await until(() => witness.of("snapshot").length === 1);
    yahoo.price(q("AAPL", 95, 3_000));
    await until(() => witness.quotes().some((t) => t.price === 95), 10_000, "the witness's quote");
    a.send({ type: "ping" });
    await until(() => a.of("pong").length === 2);
    assert.equal(a.quotes().length, 2, "nothing after unsubscribe");
    witness.ws.close();

    // Limits answer with an error frame, not silence.
    a.send("not json");
    a.send({ type: "subscribe", symbols: ["../etc"] });
    a.send({ type: "subscribe", symbols: Array.from({ length: 201 }, (_, i) => `S${i}`) });
    a.send("x".repeat(9_000));
    await until(() => a.of("error").length === 4, 5_000, "four error frames");
    assert.deepEqual(a.of("error").map((e) => String(e.message).slice(0, 24)), [
      "message is not JSON",
      "symbols.0: a ticker symb",
      "too many symbols: at mos",
      "message too large: at mo",
    ]);
    // A burst on a connection of its own: its bucket is full (20), so 30 pings give at most 10 errors, well under the
    // 20 strikes that close a connection, however the earlier messages' timing left the other buckets.
    const c = await connect(app.port);
    for (let i = 0; i < 30; i++) c.send({ type: "ping" });
    await until(() => c.of("error").some((e) => /rate limit/.test(String(e.message))), 5_000, "rate limit error");

    const metrics = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    assert.match(metrics, /^breadboard_ws_clients 3$/m);
    a.ws.close();
    b.ws.close();
    c.ws.close();
    app.child.kill("SIGTERM");
    assert.equal((await app.finished).code, 0);
  } finally {
    await yahoo.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
