import http from "node:http";
import https from "node:https";
import { checkTarget, guardedLookup, type GuardOptions } from "./net_guard.ts";

/** What came back from a POST. */
export interface PostResult {
  status: number;
  /** The first 500 characters of the body, for the failure reason. */
  body: string;
}

/** Options of {@link postGuarded}. */
export interface PostOptions extends GuardOptions {
  headers: Record<string, string>;
  body: string | Uint8Array;
  /** Whole request, connect to last byte (default 5 s). */
  timeoutMs?: number;
}

/**
 * POSTs `body` to `url`, refusing non-public targets (checked before the request and again for the address actually
 * connected to). Redirects are not followed: a 3xx is returned as it is. Rejects on a timeout or connection failure,
 * and with UnsafeTargetError on a refused target.
 *
 * @example
 * ```ts
 * const res = await postGuarded("https://hooks.example.com/bb", {
 *   body: JSON.stringify(payload),
 *   headers: { "Content-Type": "application/json" },
 *   timeoutMs: 5_000,
 * });
 * ```
 */
export async function postGuarded(url: string, opts: PostOptions): Promise<PostResult> {
  await checkTarget(url, opts);
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  const body = typeof opts.body === "string" ? new TextEncoder().encode(opts.body) : opts.body;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return await new Promise<PostResult>((resolve, reject) => {
    const req = mod.request({
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port || undefined,
      path: u.pathname + u.search,
      method: "POST",
      headers: { ...opts.headers, "Content-Length": String(body.length) },
      lookup: guardedLookup(opts) as never,
      agent: false,
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (text.length < 500) text += chunk;
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: text.slice(0, 500) });
      });
      res.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
