import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { keys } from "../actors/keys.ts";
import { ApiError } from "./errors.ts";
import { isHttps, requestOrigin } from "./client_address.ts";

/** The cookie that carries an anonymous user's signed id. */
export const USER_COOKIE = "bb_uid";
/** The header every cookie-authenticated write must carry (a cross-site form or fetch cannot set it unasked). */
export const CSRF_HEADER = "X-Breadboard-CSRF";

const enc = new TextEncoder();
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Variables the identity middleware sets on the context. */
export type IdentityVars = {
  /** The caller's user id. */
  userId: string;
  /** How the caller proved it: an existing cookie, a cookie issued on this request, or an API token. */
  auth: "cookie" | "new" | "token";
};

/**
 * Loads (or creates, once) the HMAC key that signs user cookies. It lives in KV so every process sharing the KV
 * signs and checks with the same key.
 */
export async function cookieKey(kv: Deno.Kv): Promise<CryptoKey> {
  const key = keys.cookieSecret();
  let got = await kv.get<Uint8Array>(key);
  if (!got.value) {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    await kv.atomic().check({ key, versionstamp: null }).set(key, raw).commit();
    got = await kv.get<Uint8Array>(key);
  }
  return crypto.subtle.importKey("raw", new Uint8Array(got.value!), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** How long a user cookie stays valid after it was issued (browsers cap cookies at 400 days). */
export const COOKIE_MAX_AGE_S = 400 * 86_400;

/** `id.issuedAt.mac`: the MAC covers the id and the issue time (seconds), so neither can be changed. */
async function sign(key: CryptoKey, id: string, issuedAt: number): Promise<string> {
  const payload = `${id}.${issuedAt}`;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(payload)));
  return `${payload}.${mac.toBase64({ alphabet: "base64url", omitPadding: true })}`;
}

/**
 * The user id of a cookie value signed by `key`, with its issue time (0 for a cookie from before issue times,
 * which is re-issued). Undefined when forged, malformed or expired.
 */
async function verify(
  key: CryptoKey,
  value: string,
  nowS: number,
): Promise<{ id: string; issuedAt: number } | undefined> {
  const parts = value.split(".");
  if (parts.length !== 2 && parts.length !== 3) return undefined;
  const id = parts[0]!;
  if (!/^u_[A-Za-z0-9_-]{16,64}$/.test(id)) return undefined;
  const issuedAt = parts.length === 3 ? Number(parts[1]) : 0;
  if (parts.length === 3 && !/^\d{1,12}$/.test(parts[1]!)) return undefined;
  let mac: Uint8Array;
  try {
    mac = Uint8Array.fromBase64(parts.at(-1)!, { alphabet: "base64url" });
  } catch {
    return undefined;
  }
  const payload = parts.slice(0, -1).join(".");
  if (!await crypto.subtle.verify("HMAC", key, new Uint8Array(mac), enc.encode(payload))) return undefined;
  return fresh(issuedAt, nowS) ? { id, issuedAt } : undefined;
}

/**
 * Cookie values already verified under one key, so a browser's every request does not pay an HMAC (the largest
 * share of a quote request's CPU under load). Only values that verified are kept; the expiry is still checked on
 * each use. Bounded: the oldest entry goes when it is full.
 */
class VerifiedCookies {
  readonly #seen = new Map<string, { id: string; issuedAt: number }>();
  constructor(readonly max = 10_000) {}

  async verify(key: CryptoKey, value: string, nowS: number): Promise<{ id: string; issuedAt: number } | undefined> {
    const hit = this.#seen.get(value);
    if (hit) return fresh(hit.issuedAt, nowS) ? hit : undefined;
    const got = await verify(key, value, nowS);
    if (got) {
      if (this.#seen.size >= this.max) this.#seen.delete(this.#seen.keys().next().value!);
      this.#seen.set(value, got);
    }
    return got;
  }
}

function fresh(issuedAt: number, nowS: number): boolean {
  return !(issuedAt > nowS + 300 || (issuedAt !== 0 && nowS - issuedAt > COOKIE_MAX_AGE_S));
}

/** SHA-256 of an API token, hex: tokens are stored hashed. */
export async function tokenHash(token: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(token)));
  return d.toHex();
}

/**
 * Who is calling. An `Authorization: Bearer <token>` header names a user through an API token (scripts). Otherwise
 * the signed, HttpOnly, SameSite=Lax `bb_uid` cookie does; a visitor without a valid one is given one.
 *
 * Writes (POST, PUT, PATCH, DELETE) need an identity that existed before the request: a token, or a cookie plus the
 * `X-Breadboard-CSRF` header and, when the browser sends an Origin, an Origin equal to this server's. Other sites
 * cannot make a browser send that header without a CORS preflight this server never grants.
 */
export function identity(
  kv: Deno.Kv,
  key: Promise<CryptoKey>,
  options: { trustProxy?: boolean; now?: () => number } = {},
): MiddlewareHandler<{ Variables: IdentityVars }> {
  const trustProxy = options.trustProxy ?? false;
  const now = options.now ?? Date.now;
  const verified = new VerifiedCookies();
  return async (c, next) => {
    // Mounted on overlapping paths it may run twice for one request: the first run decided.
    if (c.get("userId") !== undefined) return next();
    const k = await key;
    const authz = c.req.header("Authorization");
    if (authz !== undefined) {
      const m = /^Bearer\s+(bbt_[A-Za-z0-9_-]{20,100})$/.exec(authz);
      if (!m) throw new ApiError(401, "unauthorized", "Authorization must be 'Bearer bbt_…' with an API token");
      const got = await kv.get<{ userId: string }>(keys.token(await tokenHash(m[1]!)));
      if (!got.value) throw new ApiError(401, "unauthorized", "unknown or revoked API token");
      c.set("userId", got.value.userId);
      c.set("auth", "token");
      return next();
    }
    const cookie = getCookie(c, USER_COOKIE);
    const nowS = Math.floor(now() / 1000);
    const known = cookie ? await verified.verify(k, cookie, nowS) : undefined;
    const issue = async (id: string) =>
      setCookie(c, USER_COOKIE, await sign(k, id, nowS), {
        httpOnly: true,
        sameSite: "Lax",
        path: "/",
        maxAge: COOKIE_MAX_AGE_S,
        secure: isHttps(c.req.raw, trustProxy),
      });
    if (known) {
      c.set("userId", known.id);
      c.set("auth", "cookie");
      if (known.issuedAt === 0) await issue(known.id); // a cookie from before issue times: same user, dated now
    } else {
      const id = `u_${
        crypto.getRandomValues(new Uint8Array(16)).toBase64({ alphabet: "base64url", omitPadding: true })
      }`;
      await issue(id);
      c.set("userId", id);
      c.set("auth", "new");
    }
    if (WRITE_METHODS.has(c.req.method)) checkWrite(c, trustProxy);
    return next();
  };
}

function checkWrite(c: Context<{ Variables: IdentityVars }>, trustProxy: boolean): void {
  if (c.get("auth") === "new") {
    throw new ApiError(401, "unauthorized", "no user cookie: load the dashboard first, or use an API token");
  }
  if (c.req.header(CSRF_HEADER) !== "1") {
    throw new ApiError(403, "csrf", `writes with a cookie must send the ${CSRF_HEADER}: 1 header`);
  }
  const origin = c.req.header("Origin");
  if (origin !== undefined && origin !== requestOrigin(c.req.raw, trustProxy)) {
    throw new ApiError(403, "csrf", `cross-site write refused (Origin ${origin})`);
  }
}
