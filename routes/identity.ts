import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { keys } from "../actors/keys.ts";
import { ApiError } from "./errors.ts";

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

async function sign(key: CryptoKey, id: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(id)));
  return `${id}.${mac.toBase64({ alphabet: "base64url", omitPadding: true })}`;
}

async function verify(key: CryptoKey, value: string): Promise<string | undefined> {
  const dot = value.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const id = value.slice(0, dot);
  if (!/^u_[A-Za-z0-9_-]{16,64}$/.test(id)) return undefined;
  let mac: Uint8Array;
  try {
    mac = Uint8Array.fromBase64(value.slice(dot + 1), { alphabet: "base64url" });
  } catch {
    return undefined;
  }
  return await crypto.subtle.verify("HMAC", key, new Uint8Array(mac), enc.encode(id)) ? id : undefined;
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
export function identity(kv: Deno.Kv, key: Promise<CryptoKey>): MiddlewareHandler<{ Variables: IdentityVars }> {
  return async (c, next) => {
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
    const known = cookie ? await verify(k, cookie) : undefined;
    if (known) {
      c.set("userId", known);
      c.set("auth", "cookie");
    } else {
      const id = `u_${
        crypto.getRandomValues(new Uint8Array(16)).toBase64({ alphabet: "base64url", omitPadding: true })
      }`;
      setCookie(c, USER_COOKIE, await sign(k, id), {
        httpOnly: true,
        sameSite: "Lax",
        path: "/",
        maxAge: 400 * 86_400,
        secure: new URL(c.req.url).protocol === "https:",
      });
      c.set("userId", id);
      c.set("auth", "new");
    }
    if (WRITE_METHODS.has(c.req.method)) checkWrite(c);
    return next();
  };
}

function checkWrite(c: Context<{ Variables: IdentityVars }>): void {
  if (c.get("auth") === "new") {
    throw new ApiError(401, "unauthorized", "no user cookie: load the dashboard first, or use an API token");
  }
  if (c.req.header(CSRF_HEADER) !== "1") {
    throw new ApiError(403, "csrf", `writes with a cookie must send the ${CSRF_HEADER}: 1 header`);
  }
  const origin = c.req.header("Origin");
  if (origin !== undefined && origin !== new URL(c.req.url).origin) {
    throw new ApiError(403, "csrf", `cross-site write refused (Origin ${origin})`);
  }
}
