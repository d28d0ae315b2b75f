import type { Context } from "hono";
import type { WsOutlet } from "./frame_channel.ts";

/** What the serving code (roles/process.ts) passes the app with each request, as Hono's `c.env`. */
export interface ServeEnv {
  /** The TCP peer: the client, as the connection guard tells it, or the proxy in front. */
  remoteAddr?: { hostname?: string };
  /** Behind the connection guard: turns an upgraded WebSocket into one whose frames the guard's thread writes. */
  wsOutlet?: (socket: WebSocket) => WsOutlet;
}

/**
 * The client's address: the TCP peer the server saw (`c.env.remoteAddr`, set by the serving code), or with
 * `trustProxy` the first address of X-Forwarded-For, as a TLS-terminating proxy in front sets it.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = c.req.header("X-Forwarded-For")?.split(",")[0]?.trim();
    if (fwd) return fwd;
  }
  const env = c.env as ServeEnv | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}

/**
 * The origin the browser used to reach this server: the request URL's, with the scheme from X-Forwarded-Proto when
 * `trustProxy` (the proxy terminated TLS, so the server itself saw plain http).
 */
export function requestOrigin(req: Request, trustProxy: boolean): string {
  const url = new URL(req.url);
  const proto = trustProxy ? req.headers.get("X-Forwarded-Proto")?.split(",")[0]?.trim().toLowerCase() : undefined;
  if (proto === "https" || proto === "http") url.protocol = `${proto}:`;
  return url.origin;
}

/** True when the browser reached this server over https (directly or, with `trustProxy`, through a proxy). */
export function isHttps(req: Request, trustProxy: boolean): boolean {
  return requestOrigin(req, trustProxy).startsWith("https:");
}
