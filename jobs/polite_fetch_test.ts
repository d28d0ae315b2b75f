import assert from "node:assert/strict";
import { politeFetch } from "./polite_fetch.ts";

function server(handler: (n: number) => Response) {
  let n = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const starts: number[] = [];
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    starts.push(performance.now());
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
    return handler(++n);
  });
  return {
    url: `http://127.0.0.1:${s.addr.port}/`,
    starts,
    get maxInFlight() {
      return maxInFlight;
    },
    stop: () => s.shutdown(),
  };
}

Deno.test("politeFetch retries 429 and 5xx with backoff, honouring Retry-After, then returns the success", async () => {
  const s = server((n) =>
    n === 1
      ? new Response("slow down", { status: 429, headers: { "Retry-After": "0" } })
      : n === 2
      ? new Response("oops", { status: 502 })
      : new Response("ok")
  );
  const retries: string[] = [];
  const f = politeFetch({ backoffMs: 10, onRetry: (_u, _a, reason) => retries.push(reason) });
  const res = await f(s.url);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
  assert.deepEqual(retries, ["HTTP 429", "HTTP 502"]);
  assert.deepEqual(f.stats, { requests: 3, retries: 2 });
  await s.stop();
});

Deno.test("politeFetch gives the last failing response back after its retries, and never retries a 404", async () => {
  const s = server((n) => new Response(String(n), { status: 503 }));
  const f = politeFetch({ backoffMs: 1, retries: 2 });
  const res = await f(s.url);
  assert.equal(res.status, 503);
  assert.equal(await res.text(), "3", "the third attempt's response");
  await s.stop();
  const nf = server(() => new Response("no", { status: 404 }));
  const h = politeFetch({ backoffMs: 1 });
  assert.equal((await h(nf.url).then(async (r) => (await r.body?.cancel(), r))).status, 404);
  assert.equal(h.stats.requests, 1);
  await nf.stop();
});

Deno.test("politeFetch bounds requests in flight and spaces request starts to the rate", async () => {
  const s = server(() => new Response("ok"));
  // The limiter runs on a virtual clock: its sleeps move time forward exactly, so the spacing it schedules is what
  // the test reads, free of timer jitter on a loaded machine. The requests themselves are real.
  let now = 0;
  const clock = {
    now: () => now,
    sleep: (ms: number) => {
      // Wakes at its deadline, after whatever was already runnable; concurrent sleepers never move the clock back.
      const deadline = now + ms;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          now = Math.max(now, deadline);
          resolve();
        }, 0)
      );
    },
  };
  const issued: number[] = [];
  const f = politeFetch({
    concurrency: 2,
    ratePerSecond: 50,
    clock,
    fetch: (input, init) => (issued.push(now), fetch(input, init)),
  });
  await Promise.all(Array.from({ length: 10 }, () => f(s.url).then((r) => r.text())));
  assert.ok(s.maxInFlight <= 2, `max in flight ${s.maxInFlight}`);
  const gaps = issued.slice(1).map((t, i) => t - issued[i]!);
  // 50/s is one start every 20 ms.
  assert.ok(gaps.every((g) => g >= 20), `gaps ${gaps.map((g) => g.toFixed(1))}`);
  assert.equal(issued.length, 10);
  await s.stop();
});
