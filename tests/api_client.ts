import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { startApp } from "./app_process.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { until } from "./wait.ts";

const decoder = await createYahooDecoder();

/** A browser-like client against `base`: keeps its cookie (`cookie` to start with one), sends the CSRF header on writes. */
export function client(base: string, cookie = "") {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { ...headers };
    if (cookie) h.Cookie = cookie;
    if (body !== undefined) h["Content-Type"] ??= "application/json";
    if (method !== "GET" && !("X-Breadboard-CSRF" in h)) h["X-Breadboard-CSRF"] = "1";
    const res = await fetch(base + path, {
      method,
      headers: h,
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const set = res.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0]!;
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, cookie: set };
  };
  return {
    call,
    get cookie() {
      return cookie;
    },
  };
}

/**
 * Runs `fn` against the app started as a child process on a fresh DATA_DIR, streaming from a Yahoo fake and
 * tracking AAPL and MSFT; `env` adds to its environment.
 */
export async function withApp(
  fn: (base: string, yahoo: ReturnType<typeof startFakeYahoo>, port: number) => Promise<void>,
  env: Record<string, string> = {},
) {
  const yahoo = startFakeYahoo(decoder);
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-api-" });
  const app = await startApp({ DATA_DIR: dataDir, YAHOO_WS_URL: yahoo.url, SYMBOLS: "AAPL,MSFT", ...env });
  try {
    await until(() => yahoo.open().some((c) => c.symbols.has("AAPL") && c.symbols.has("MSFT")), 20_000, "subscribed");
    await fn(`http://127.0.0.1:${app.port}`, yahoo, app.port);
  } finally {
    app.child.kill("SIGTERM");
    await app.finished;
    await yahoo.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}
