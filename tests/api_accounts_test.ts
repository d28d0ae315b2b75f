import SwaggerParser from "@apidevtools/swagger-parser";
import assert from "node:assert/strict";
import { client, withApp } from "./api_client.ts";
import { startFakeYahooRest } from "./fake_yahoo_rest.ts";
import { until } from "./wait.ts";

Deno.test("watchlists keep the user's order, are private to their user, and start tracking their symbols", async () => {
  await withApp(async (base, yahoo) => {
    const a = client(base);
    const b = client(base);
    assert.deepEqual((await a.call("GET", "/api/v1/watchlists")).body.watchlists, []);
    await b.call("GET", "/api/v1/watchlists");

    const made = await a.call("POST", "/api/v1/watchlists", {
      name: " Tech ",
      symbols: ["nvda", "AAPL", "NVDA", "tsla"],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.name, "Tech");
    assert.deepEqual(made.body.symbols, ["NVDA", "AAPL", "TSLA"], "upper-cased, repeats dropped, order kept");
    const id = made.body.id as string;

    // NVDA and TSLA were not tracked (SYMBOLS=AAPL,MSFT): the feed subscribes them now.
    await until(() => yahoo.open().some((c) => c.symbols.has("NVDA") && c.symbols.has("TSLA")), 15_000, "subscribed");

    const reordered = await a.call("PUT", `/api/v1/watchlists/${id}`, { name: "Tech", symbols: ["TSLA", "AAPL"] });
    assert.equal(reordered.status, 200);
    assert.deepEqual(reordered.body.symbols, ["TSLA", "AAPL"]);
    assert.equal(reordered.body.createdAt, made.body.createdAt);
    assert.deepEqual((await a.call("GET", "/api/v1/watchlists")).body.watchlists.map((w: { id: string }) => w.id), [
      id,
    ]);

    // B sees none of it and cannot touch it.
    assert.equal((await b.call("GET", `/api/v1/watchlists/${id}`)).status, 404);
    assert.equal((await b.call("PUT", `/api/v1/watchlists/${id}`, { name: "x", symbols: [] })).status, 404);
    assert.equal((await b.call("DELETE", `/api/v1/watchlists/${id}`)).status, 404);
    assert.deepEqual((await b.call("GET", "/api/v1/watchlists")).body.watchlists, []);

    // NVDA left every watchlist: it is no longer tracked.
    await until(() => yahoo.open().some((c) => !c.symbols.has("NVDA") && c.symbols.has("TSLA")), 15_000, "dropped");

    const bad = await a.call("POST", "/api/v1/watchlists", { name: "", symbols: ["../x"] });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.error.issues.map((i: { path: string }) => i.path).sort(), ["name", "symbols.0"]);
    const extra = await a.call("POST", "/api/v1/watchlists", { name: "x", symbols: [], owner: "someone" });
    assert.equal(extra.status, 400, "unknown fields are refused, not ignored");
    const many = await a.call("POST", "/api/v1/watchlists", {
      name: "too many",
      symbols: Array.from({ length: 201 }, (_, i) => `S${i}`),
    });
    assert.equal(many.status, 400);
    assert.match(many.body.error.message, /at most 200 symbols/);

    assert.equal((await a.call("DELETE", `/api/v1/watchlists/${id}`)).status, 204);
    assert.equal((await a.call("GET", `/api/v1/watchlists/${id}`)).status, 404);
  });
});

Deno.test("API tokens act as their user for scripts, are shown once, and stop working when revoked", async () => {
  await withApp(async (base) => {
    const a = client(base);
    await a.call("GET", "/api/v1/rules");
    const made = await a.call("POST", "/api/v1/tokens", { name: "backtest script" });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const token = made.body.token as string;
    assert.match(token, /^bbt_[A-Za-z0-9_-]{20,}$/);
    const listed = (await a.call("GET", "/api/v1/tokens")).body.tokens;
    assert.deepEqual(listed.map((t: { name: string }) => t.name), ["backtest script"]);
    assert.equal(JSON.stringify(listed).includes(token), false, "the secret is never listed");

    // A script with the token, no cookie and no CSRF header, writes as A.
    const auth = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    const w = await fetch(`${base}/api/v1/watchlists`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "from script", symbols: ["MSFT"] }),
    });
    assert.equal(w.status, 201);
    assert.deepEqual((await a.call("GET", "/api/v1/watchlists")).body.watchlists.map((x: { name: string }) => x.name), [
      "from script",
    ]);

    const other = client(base);
    await other.call("GET", "/api/v1/tokens");
    assert.equal((await other.call("DELETE", `/api/v1/tokens/${made.body.id}`)).status, 404, "not B's token");
    assert.equal((await a.call("DELETE", `/api/v1/tokens/${made.body.id}`)).status, 204);
    const after = await fetch(`${base}/api/v1/watchlists`, { headers: auth });
    assert.equal(after.status, 401);
    assert.match((await after.json()).error.message, /unknown or revoked/);
    const garbage = await fetch(`${base}/api/v1/watchlists`, { headers: { Authorization: "Bearer nope" } });
    assert.equal(garbage.status, 401);
    await garbage.body?.cancel();
  });
});

Deno.test("symbol search answers from Yahoo's search through YAHOO_API_BASE and caches each query", async () => {
  const rest = startFakeYahooRest();
  try {
    await withApp(async (base) => {
      const a = client(base);
      const r = await a.call("GET", "/api/v1/symbols/search?q=apple");
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.source, "yahoo");
      assert.deepEqual(r.body.results.map((x: { symbol: string }) => x.symbol), ["AAPL", "APLE"]);
      assert.deepEqual(r.body.results[0], { symbol: "AAPL", name: "Apple Inc.", exchange: "NASDAQ", type: "Equity" });
      assert.equal((await a.call("GET", "/api/v1/symbols/search?q=ms")).body.results[0].name, "Microsoft Corporation");
      // Same query, any case: answered from the cache.
      await a.call("GET", "/api/v1/symbols/search?q=APPLE");
      assert.equal(rest.requests.filter((p) => p.startsWith("/v1/finance/search")).length, 2);
      assert.match(rest.requests.find((p) => p.startsWith("/v1/finance/search"))!, /[?&]q=apple(&|$)/);

      for (const [q, msg] of [["", /q must not be empty/], ["a".repeat(65), /at most 64/], ["<script>", /letters/]]) {
        const bad = await a.call("GET", `/api/v1/symbols/search?q=${encodeURIComponent(q as string)}`);
        assert.equal(bad.status, 400);
        assert.match(bad.body.error.message, msg as RegExp);
      }
      assert.equal((await a.call("GET", "/api/v1/symbols/search")).status, 400);

      // Yahoo down: a cached query still answers from the cache; a new one matches the tracked symbols, marked
      // as a local answer.
      rest.options.searchDown = true;
      assert.equal((await a.call("GET", "/api/v1/symbols/search?q=ms")).body.source, "yahoo");
      const local = await a.call("GET", "/api/v1/symbols/search?q=MSF");
      assert.equal(local.status, 200);
      assert.equal(local.body.source, "local");
      assert.deepEqual(local.body.results.map((x: { symbol: string }) => x.symbol), ["MSFT"]);
    }, { YAHOO_API_BASE: rest.url });
  } finally {
    await rest.stop();
  }
});

Deno.test("OpenAPI 3.1 document and /docs describe every route from the validating schemas", async () => {
  await withApp(async (base) => {
    const doc = await (await fetch(`${base}/api/v1/openapi.json`)).json();
    assert.equal(doc.openapi, "3.1.0");
    for (const p of ["/api/v1/history", "/api/v1/rules/{id}", "/api/v1/watchlists", "/api/v1/symbols/search"]) {
      assert.ok(doc.paths[p], p);
    }
    const history = doc.paths["/api/v1/history"].get;
    const interval = history.parameters.find((p: { name: string }) => p.name === "interval");
    assert.deepEqual(interval.schema.enum, ["1m", "5m", "15m", "1h", "1d"]);
    assert.equal(history.parameters.find((p: { name: string }) => p.name === "symbol").required, true);
    const ruleBody = doc.paths["/api/v1/rules"].post.requestBody.content["application/json"].schema;
    const kinds = ruleBody.oneOf.map((v: { properties: { kind: { const: string } } }) => v.properties.kind.const);
    assert.deepEqual(kinds.sort(), [
      "anomaly",
      "day_change",
      "pct_change",
      "price_above",
      "price_below",
      "volume_spike",
    ]);
    assert.equal(ruleBody.oneOf[0].properties.id, undefined, "the server assigns ids");
    assert.ok(doc.paths["/api/v1/watchlists"].post.security.length > 0);
    // A parameter's default is of its own type (a query string's page size defaults to "100", not 100).
    type Param = { name: string; schema?: { type?: string; default?: unknown } };
    const params = Object.values(doc.paths as Record<string, Record<string, { parameters?: Param[] }>>)
      .flatMap((ops) => Object.values(ops).flatMap((op) => op.parameters ?? []));
    const defaulted = params.filter((p) => p.schema?.default !== undefined);
    assert.ok(defaulted.some((p) => p.name === "limit"), "limit documents its default");
    for (const p of defaulted) {
      assert.equal(typeof p.schema!.default, p.schema!.type === "integer" ? "number" : p.schema!.type, p.name);
    }

    // A valid OpenAPI 3.1 document, by an independent validator, naming this server, a license and, on every
    // operation, how it is called: nothing for operations, token or cookie for reads, cookie writes with the CSRF key.
    await SwaggerParser.validate(structuredClone(doc));
    assert.deepEqual(doc.servers, [{ url: base, description: "this server" }]);
    assert.equal(doc.info.license.identifier, "MIT");
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        assert.ok(Array.isArray(op.security), `${method} ${path} declares its security`);
      }
    }
    assert.deepEqual(doc.paths["/api/v1/health"].get.security, []);
    assert.deepEqual(doc.paths["/api/v1/rules/{id}"].delete.security, [{ token: [] }, { cookie: [], csrf: [] }]);
    assert.deepEqual(doc.paths["/api/v1/history"].get.security, [{ token: [] }, { cookie: [] }, {}]);
    for (const scheme of ["token", "cookie", "csrf"]) assert.ok(doc.components.securitySchemes[scheme], scheme);

    // Every documented GET path (with its parameters filled in) is served: none answers 404 for a missing route.
    const a = client(base);
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      if (!ops.get || !path.startsWith("/api/")) continue;
      const r = await a.call("GET", path.replace("{symbol}", "AAPL").replace("{id}", "nope"));
      if (r.status === 404) assert.notEqual(r.body?.error?.message?.startsWith("no route"), true, path);
    }

    const html = await (await fetch(`${base}/docs`)).text();
    assert.match(html, /<h1>Breadboard API<\/h1>/);
    assert.match(html, /\/api\/v1\/watchlists\/\{id\}/);
    assert.match(html, /one of <code>1m<\/code>, <code>5m<\/code>/);
  });
});

Deno.test("/metrics reports store latency, ticks, WebSocket and actor figures in Prometheus text", async () => {
  await withApp(async (base, yahoo) => {
    yahoo.price({ id: "AAPL", price: 200, time: Date.now(), marketHours: 1 });
    await until(
      async () =>
        (await (await fetch(`${base}/metrics`)).text()).includes('breadboard_ticks_received_total{source="yahoo"} 1'),
      10_000,
      "tick counted",
    );
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /# TYPE breadboard_store_seconds histogram/);
    const inserts = /breadboard_store_seconds_count\{op="insert",outcome="ok"\} (\d+)/.exec(text);
    assert.ok(inserts && Number(inserts[1]) >= 1, "tick inserts are timed");
    assert.match(text, /breadboard_store_seconds_bucket\{le="\+Inf",op="query",outcome="ok"\} \d+/);
    assert.match(text, /breadboard_ws_clients 0/);
    assert.match(text, /breadboard_actors_active \d+/);
  });
});
