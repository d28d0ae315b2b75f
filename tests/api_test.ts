import assert from "node:assert/strict";
import { client, withApp } from "./api_client.ts";
import { until } from "./wait.ts";

Deno.test("users get a signed cookie and only ever see or change their own rules", async () => {
  await withApp(async (base) => {
    const a = client(base);
    const b = client(base);
    const first = await a.call("GET", "/api/v1/rules");
    assert.equal(first.status, 200);
    assert.match(first.cookie ?? "", /^bb_uid=u_[^;]+\.[^;]+;.*HttpOnly/i);
    assert.match(first.cookie ?? "", /SameSite=Lax/i);
    await b.call("GET", "/api/v1/rules");

    const made = await a.call("POST", "/api/v1/rules", { symbol: "aapl", kind: "price_above", price: 250 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.symbol, "AAPL");
    const id = made.body.id as string;
    assert.equal((await a.call("GET", `/api/v1/rules/${id}`)).body.price, 250);

    // B can neither read, change nor delete A's rule: the id answers as if it did not exist.
    assert.equal((await b.call("GET", `/api/v1/rules/${id}`)).status, 404);
    assert.equal(
      (await b.call("PUT", `/api/v1/rules/${id}`, { symbol: "AAPL", kind: "price_above", price: 1 })).status,
      404,
    );
    assert.equal((await b.call("DELETE", `/api/v1/rules/${id}`)).status, 404);
    assert.deepEqual((await b.call("GET", "/api/v1/rules")).body.rules, []);
    assert.equal((await a.call("GET", `/api/v1/rules/${id}`)).body.price, 250, "unchanged");

    // A forged cookie is a new anonymous user, not A.
    const forged = a.cookie.replace(/\.[^.]+$/, ".AAAA");
    const res = await fetch(`${base}/api/v1/rules`, { headers: { Cookie: forged } });
    assert.deepEqual((await res.json()).rules, []);

    const updated = await a.call("PUT", `/api/v1/rules/${id}`, { symbol: "AAPL", kind: "price_below", price: 200 });
    assert.equal(updated.body.kind, "price_below");
    assert.equal((await a.call("DELETE", `/api/v1/rules/${id}`)).status, 204);
    assert.equal((await a.call("GET", `/api/v1/rules/${id}`)).status, 404);
  });
});

Deno.test("writes need an existing identity, the CSRF header and a same-site origin", async () => {
  await withApp(async (base) => {
    const rule = { symbol: "AAPL", kind: "price_above", price: 250 };
    const stranger = await fetch(`${base}/api/v1/rules`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Breadboard-CSRF": "1" },
      body: JSON.stringify(rule),
    });
    assert.equal(stranger.status, 401);
    assert.equal((await stranger.json()).error.code, "unauthorized");
    const a = client(base);
    await a.call("GET", "/api/v1/rules");
    const noHeader = await a.call("POST", "/api/v1/rules", rule, { "X-Breadboard-CSRF": "0" });
    assert.equal(noHeader.status, 403);
    assert.equal(noHeader.body.error.code, "csrf");
    const crossSite = await a.call("POST", "/api/v1/rules", rule, { Origin: "https://evil.example" });
    assert.equal(crossSite.status, 403);
    assert.deepEqual((await a.call("GET", "/api/v1/rules")).body.rules, []);
  });
});

/** An alerts cursor as the endpoint encodes one: base64url JSON. */
const cursorOf = (v: unknown) =>
  new TextEncoder().encode(JSON.stringify(v)).toBase64({ alphabet: "base64url", omitPadding: true });

Deno.test("bad input gets a 4xx naming the field, never a 500 (with a fuzzing pass)", async () => {
  await withApp(async (base) => {
    const a = client(base);
    await a.call("GET", "/api/v1/rules");
    const now = Date.now();
    const cases: [string, string, number, RegExp][] = [
      ["GET", `/api/v1/history?symbol=AAPL&from=${now - 1e6}&to=${now}&interval=2m`, 400, /interval must be one of/],
      ["GET", `/api/v1/history?symbol=AAPL&from=${now}&to=${now - 1}&interval=1m`, 400, /from must be before to/],
      ["GET", `/api/v1/history?symbol=AAPL&from=0&to=${now}&interval=1m`, 400, /at most 20000 per request/],
      ["GET", `/api/v1/history?symbol=..%2Fetc&from=1&to=2`, 400, /ticker symbol/],
      [
        "GET",
        `/api/v1/history?symbol=AAPL&from=2026-02-30`,
        400,
        /from must be epoch milliseconds or an ISO 8601 date/,
      ],
      ["GET", `/api/v1/history?symbol=AAPL&to=2026-11-20T25:00Z`, 400, /to must be epoch milliseconds or an ISO 8601/],
      ["GET", `/api/v1/history?symbol=AAPL&from=2026-11-21&to=2026-11-20`, 400, /from must be before to/],
      ["GET", "/api/v1/stocks/AA%20PL", 400, /ticker symbol/],
      ["GET", "/api/v1/stocks/NEVERSEEN", 404, /never ticked/],
      ["GET", "/api/v1/alerts?limit=100000", 400, /limit must be 1-500/],
      ["GET", "/api/v1/alerts?cursor=garbage", 400, /cursor/],
      // Decoded cursors are validated before they reach the store.
      ...[1.5, 1e300, 2 ** 53 + 1, -1].map((t): [string, string, number, RegExp] => [
        "GET",
        `/api/v1/alerts?cursor=${cursorOf([t, "a_1"])}`,
        400,
        /cursor/,
      ]),
      ["GET", `/api/v1/alerts?cursor=${cursorOf([1, "x'; DROP"])}`, 400, /cursor/],
      // One parser for every query: the same answers for the same mistakes.
      ["GET", "/api/v1/alerts?limit=1e2", 400, /limit must be 1-500/],
      ["GET", "/api/v1/notifications?limit=1e2", 400, /limit must be 1-500/],
      ["GET", "/api/v1/jobs?limit=1e2", 400, /limit must be 1-100/],
      ["GET", `/api/v1/alerts?since=${now}&until=${now - 1}`, 400, /since must be before until/],
      ["GET", `/api/v1/history?symbol=AAPL&from=1.5&to=${now}`, 400, /from must be epoch milliseconds or an ISO 8601/],
    ];
    for (const [method, path, status, msg] of cases) {
      const r = await a.call(method, path);
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, msg, path);
    }
    const notJson = await a.call("POST", "/api/v1/rules", "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, "bad_json");
    const big = await a.call("POST", "/api/v1/rules", JSON.stringify({ pad: "x".repeat(10 * 1024 * 1024) }));
    assert.equal(big.status, 413);
    const badRule = await a.call("POST", "/api/v1/rules", {
      symbol: "AAPL",
      kind: "pct_change",
      direction: "drop",
      percent: 5,
      window: "-15m",
    });
    assert.equal(badRule.status, 400);
    assert.deepEqual(badRule.body.error.issues.map((i: { path: string }) => i.path), ["window"]);

    let seed = 11;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const pieces = [
      "AAPL",
      "",
      "-1",
      "1e309",
      "%00",
      "'; DROP TABLE",
      "NaN",
      "1m",
      "1d",
      "99999999999999999",
      "\u00e9",
      "[]",
    ];
    const pick = () => encodeURIComponent(pieces[Math.floor(rand() * pieces.length)]!);
    // Cursors that decode to JSON of every shape: numbers out of range, wrong types, wrong arity.
    const cursorPieces: unknown[] = [1.5, 1e300, 2 ** 53 + 1, -5, "1", null, [], {}, "a_1", 0, 1e15];
    const cursor = () =>
      rand() < 0.3 ? pick() : cursorOf(
        Array.from(
          { length: Math.floor(rand() * 4) },
          () => cursorPieces[Math.floor(rand() * cursorPieces.length)],
        ),
      );
    for (let i = 0; i < 150; i++) {
      const path = [
        `/api/v1/history?symbol=${pick()}&from=${pick()}&to=${pick()}&interval=${pick()}`,
        `/api/v1/alerts?symbol=${pick()}&since=${pick()}&limit=${pick()}&cursor=${cursor()}`,
        `/api/v1/stocks/${pick() || "X"}`,
        `/api/v1/symbols/search?q=${pick()}`,
        `/api/v1/watchlists/${pick() || "X"}`,
      ][i % 5]!;
      const r = await fetch(base + path, { headers: { Cookie: a.cookie } });
      assert.ok(r.status < 500, `${path} gave ${r.status}`);
      await r.body?.cancel();
      const body = JSON.stringify({
        symbol: pieces[i % pieces.length],
        kind: pieces[(i * 7) % pieces.length],
        price: rand() * 10 - 5,
      });
      const w = await a.call("POST", "/api/v1/rules", body);
      assert.ok(w.status < 500, `rule ${body} gave ${w.status}`);
      const list = JSON.stringify({ name: pieces[(i * 3) % pieces.length], symbols: [pieces[i % pieces.length]] });
      const l = await a.call(i % 2 ? "POST" : "PUT", i % 2 ? "/api/v1/watchlists" : "/api/v1/watchlists/w_x", list);
      assert.ok(l.status < 500, `watchlist ${list} gave ${l.status}`);
      if (l.status === 201) await a.call("DELETE", `/api/v1/watchlists/${l.body.id}`);
    }
  });
});

Deno.test("stocks, history and alerts serve what the actors built from live ticks", async () => {
  await withApp(async (base, yahoo) => {
    const a = client(base);
    await a.call("GET", "/api/v1/rules");
    const start = Math.floor((Date.now() - 20 * 60_000) / 300_000) * 300_000;
    for (let i = 0; i < 10 * 60; i += 5) {
      yahoo.price({
        id: "AAPL",
        price: 200 + i / 100,
        time: start + i * 1_000,
        quoteType: 8,
        marketHours: 1,
        priceHint: 2,
        previousClose: 210,
        lastSize: 10,
      });
    }
    // A drop below the built-in threshold (-5% from 210) raises an alert.
    yahoo.price({
      id: "AAPL",
      price: 198,
      time: start + 600_000,
      quoteType: 8,
      marketHours: 1,
      priceHint: 2,
      previousClose: 210,
      lastSize: 10,
    });
    await until(async () => (await a.call("GET", "/api/v1/stocks/AAPL")).body?.price === 198, 10_000, "quote");
    const stock = (await a.call("GET", "/api/v1/stocks/AAPL")).body;
    assert.equal(stock.changePercent, -5.7143);
    assert.equal(stock.windows["15m"].high, 205.95);
    assert.equal(stock.source, "yahoo");

    const oneMin = await until(
      async () => {
        const h = await a.call("GET", `/api/v1/history?symbol=AAPL&from=${start}&to=${start + 3_600_000}&interval=1m`);
        if (!h.body.candles) throw new Error(JSON.stringify(h.body));
        return h.body.candles.length === 11;
      },
      10_000,
      "ten closed minutes and the open one",
    );
    void oneMin;
    const h1 =
      (await a.call("GET", `/api/v1/history?symbol=AAPL&from=${start}&to=${start + 3_600_000}&interval=1m`)).body;
    assert.deepEqual(h1.candles[0], { time: start, open: 200, high: 200.55, low: 200, close: 200.55, volume: 120 });
    assert.deepEqual(h1.candles.at(-1), {
      time: start + 600_000,
      open: 198,
      high: 198,
      low: 198,
      close: 198,
      volume: 10,
    });
    const h5 =
      (await a.call("GET", `/api/v1/history?symbol=AAPL&from=${start}&to=${start + 3_600_000}&interval=5m`)).body;
    assert.equal(h5.candles.length, 3);
    assert.deepEqual(h5.candles[0], { time: start, open: 200, high: 202.95, low: 200, close: 202.95, volume: 600 });

    await until(
      async () => (await a.call("GET", "/api/v1/alerts?symbol=AAPL")).body.alerts.length === 1,
      10_000,
      "alert stored",
    );
    const [alert] = (await a.call("GET", "/api/v1/alerts?symbol=AAPL")).body.alerts;
    assert.equal(alert.message, "AAPL is down 5.7% today at 198.00");
    assert.equal(alert.rule, "default-day-change");
  });
});

Deno.test("history revalidates by ETag (304 for an unchanged range) and a newly closed candle changes the answer at once", async () => {
  await withApp(async (base, yahoo) => {
    const start = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
    const tick = (minute: number, price: number) =>
      yahoo.price({
        id: "AAPL",
        price,
        time: start + minute * 60_000 + 1_000,
        quoteType: 8,
        marketHours: 1,
        priceHint: 2,
        previousClose: price,
        lastSize: 10,
      });
    const url = `${base}/api/v1/history?symbol=AAPL&from=${start}&to=${start + 10 * 60_000}&interval=1m`;
    tick(0, 100);
    tick(1, 101);
    tick(2, 102); // closes minutes 0 and 1
    await until(async () => (await (await fetch(url)).json()).candles?.length === 3, 10_000, "three candles");
    const first = await fetch(url);
    const etag = first.headers.get("etag")!;
    assert.match(etag, /^"[A-Za-z0-9_-]{16}"$/);
    assert.match(first.headers.get("cache-control")!, /^private, max-age=60, must-revalidate$/);
    const body = await first.json();
    const again = await fetch(url, { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    await again.body?.cancel();

    tick(3, 103); // closes minute 2; the cache must not hide it
    tick(4, 104);
    await until(
      async () => {
        const r = await fetch(url, { headers: { "If-None-Match": etag } });
        const changed = r.status === 200 && (await r.json()).candles.length === 5;
        if (r.status === 304) await r.body?.cancel();
        return changed;
      },
      10_000,
      "new candles past the cached answer",
    );
    const now = await (await fetch(url)).json();
    assert.deepEqual(now.candles.slice(0, 2), body.candles.slice(0, 2), "closed candles unchanged");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /breadboard_history_cache_total\{outcome="hit"\} [1-9]/);
  });
});
