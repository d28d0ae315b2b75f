/** What the benchmarks share: running a measurement once, and the HTTP load client as its own process. */

/**
 * Runs `fn` on the first call and hands every later call the same promise. A load run takes seconds, so it runs
 * once: deno bench calls a bench function several times however small `n` is, and later calls reuse the first
 * call's figures. The time column of such a bench is the run time, not a figure of merit.
 */
export const once = <T>(fn: () => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => p ??= fn();
};

/** One run of bench/http_load.ts: requests, rate, latency percentiles, non-2xx count and the client's CPU. */
export interface HttpLoad {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  cpuSeconds: number;
}

/**
 * Runs bench/http_load.ts in its own process (so its CPU is not the server's): `connections` keep-alive loops over
 * `urls` for `seconds`, flat out or held at `rate` requests/s in all, sending `headers` ("Name: value").
 */
export async function httpLoad(
  seconds: number,
  connections: number,
  urls: string[],
  opts: { rate?: number; headers?: string[] } = {},
): Promise<HttpLoad> {
  const out = await new Deno.Command(Deno.execPath(), {
    env: {
      ...(opts.rate ? { LOAD_RATE: String(opts.rate) } : {}),
      ...(opts.headers ? { LOAD_HEADERS: JSON.stringify(opts.headers) } : {}),
    },
    args: [
      "run",
      "--allow-net",
      "--allow-env=LOAD_RATE,LOAD_HEADERS",
      new URL("./http_load.ts", import.meta.url).pathname,
      String(seconds),
      String(connections),
      ...urls,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}
