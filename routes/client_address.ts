import type { Context } from "hono";

/**
 * The client's address: the TCP peer the server saw (`c.env.remoteAddr`, set by the serving code), or with
 * `trustProxy` the first address of X-Forwarded-For, as a TLS-terminating proxy in front sets it.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = c.req.header("X-Forwarded-For")?.split(",")[0]?.trim();
    if (fwd) return fwd;
  }
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
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
