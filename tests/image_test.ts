/**
 * The container image, built and run for real with Debian's podman (no Docker engine and no image registry here: the
 * base is made by debootstrap, see deploy/image/build_local.sh). One container serves ROLE=all on embedded defaults;
 * then one ingest and two web containers share a host nats-server and one KV file, and a WebSocket client on each web
 * container receives the ingest container's ticks.
 */
import assert from "node:assert/strict";
import { freePort } from "./free_port.ts";
import { startNatsServer } from "./nats_server.ts";
import { until } from "./wait.ts";
import { type QuoteUpdate, updateTick } from "../schema/quote.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const IMAGE = "localhost/breadboard:test";
const SYMBOL = "AAPL";

async function sh(cmd: string): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command("sh", { args: ["-c", `. deploy/image/podman_flags.sh; ${cmd}`], cwd: ROOT })
    .output();
  const out = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
  return { code: res.code, out };
}

async function must(cmd: string): Promise<string> {
  const { code, out } = await sh(cmd);
  assert.equal(code, 0, `${cmd}\n${out.slice(-3_000)}`);
  return out;
}

/** Starts a container on the host network (its PORT is the host port) and returns its name. */
async function run(name: string, env: Record<string, string>, mounts: string[] = []): Promise<string> {
  const e = Object.entries(env).map(([k, v]) => `-e ${k}=${v}`).join(" ");
  const v = mounts.map((m) => `-v ${m}`).join(" ");
  await must(`podman $PODMAN_GLOBAL run -d --name ${name} --network host $PODMAN_LIMITS ${e} ${v} ${IMAGE}`);
  return name;
}

async function ready(port: number, name: string, probe = "ready"): Promise<void> {
  let last = "no answer";
  try {
    await until(
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/health/${probe}`);
          last = await res.text();
          return res.ok;
        } catch (err) {
          last = String(err);
          return false;
        }
      },
      120_000,
      `${name} ready`,
    );
  } catch (err) {
    throw new Error(`${err}: ${last}\n${(await sh(`podman logs --tail 30 ${name}`)).out}`);
  }
}

/** The first batched quote for SYMBOL a WebSocket client on `port` receives. */
async function firstQuote(port: number): Promise<{ symbol: string; price: number }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/realtime`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${SYMBOL} quote on ${port} within 60 s`)), 60_000);
      ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", symbols: [SYMBOL] }));
      ws.onerror = (e) => reject(new Error(`WebSocket on ${port}: ${(e as ErrorEvent).message}`));
      ws.onmessage = (ev) => {
        const f = JSON.parse(String(ev.data));
        const q = f.type === "batch"
          ? (f.quotes as QuoteUpdate[]).map(updateTick).find((x) => x.symbol === SYMBOL)
          : undefined;
        if (q) resolve(q);
      };
    });
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}

Deno.test({
  name: "the image builds with podman, runs as a non-root user, passes its HEALTHCHECK and serves every role",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await must(`IMAGE=${IMAGE} sh deploy/image/build_local.sh`);
    const inspect = JSON.parse(await must(`podman image inspect ${IMAGE}`))[0];
    assert.equal(inspect.Config.User, "breadboard");
    const healthcheck = JSON.parse(await must(`podman image inspect --format '{{json .HealthCheck}}' ${IMAGE}`));
    assert.ok(healthcheck?.Test?.join(" ").includes("/api/v1/health/live"), "HEALTHCHECK kept");

    const names: string[] = [];
    const tag = `bbtest-${Deno.pid}`;
    const kvDir = await Deno.makeTempDir({ prefix: "breadboard-image-kv-" });
    const nats = await startNatsServer();
    try {
      await t.step("ROLE=all on embedded defaults", async () => {
        const port = freePort();
        names.push(await run(`${tag}-all`, { PORT: String(port), FEED: "synthetic", SYNTHETIC_ALWAYS_OPEN: "true" }));
        await ready(port, `${tag}-all`);
        assert.equal((await must(`podman exec ${tag}-all id -u`)).trim(), "10001");
        await must(`podman $PODMAN_GLOBAL healthcheck run ${tag}-all 2>/dev/null`);
        const health = await (await fetch(`http://127.0.0.1:${port}/api/v1/health`)).json();
        assert.equal(health.role, "all");
        assert.equal(health.store.driver, "embedded");
        assert.ok((await firstQuote(port)).price > 0);
      });

      await t.step("one ingest and two web containers over NATS, sharing one KV", async () => {
        // The containers' user owns the shared KV folder, as a volume would be.
        await Deno.chown(kvDir, 10001, 10001);
        // FEED names the data's namespace, so the web instances say synthetic too (demo data never mixes with live).
        const shared = { NATS_URL: nats.url, KV_PATH: "/kv/kv.sqlite3", FEED: "synthetic" };
        const ingestPort = freePort();
        names.push(
          await run(`${tag}-ingest`, {
            ...shared,
            ROLE: "ingest",
            PORT: String(ingestPort),
            SYNTHETIC_ALWAYS_OPEN: "true",
          }, [`${kvDir}:/kv`]),
        );
        await ready(ingestPort, `${tag}-ingest`);
        for (const i of [1, 2]) {
          const port = freePort();
          const name = `${tag}-web${i}`;
          names.push(await run(name, { ...shared, ROLE: "web", PORT: String(port) }, [`${kvDir}:/kv`]));
          // Without CLICKHOUSE_URL a web instance serves live data only (history answers 503), so it is live and
          // its KV and bus are up, but it does not call itself ready.
          await ready(port, name, "live");
          const probes = await (await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`)).json();
          assert.deepEqual(probes, { ready: false, store: false, kv: true, bus: true });
          const health = await (await fetch(`http://127.0.0.1:${port}/api/v1/health`)).json();
          assert.equal(health.role, "web");
          assert.equal(health.bus.name, "nats");
          const q = await firstQuote(port);
          assert.equal(q.symbol, SYMBOL);
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/stocks/${SYMBOL}`);
          assert.equal(res.status, 200, await res.clone().text());
          assert.ok((await res.json()).price > 0);
        }
      });
    } finally {
      if (names.length) await sh(`podman rm -f -v ${names.join(" ")}`);
      await nats.stop();
      await Deno.remove(kvDir, { recursive: true });
    }
  },
});
