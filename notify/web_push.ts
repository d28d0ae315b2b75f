import { join } from "node:path";
import { z } from "zod";
import { postGuarded } from "./http_post.ts";
import type { GuardOptions } from "./net_guard.ts";
import { DeliveryError } from "./webhook.ts";
import { keys } from "../actors/keys.ts";

const enc = new TextEncoder();
const b64u = (b: Uint8Array) => b.toBase64({ alphabet: "base64url", omitPadding: true });
const fromB64u = (s: string) => Uint8Array.fromBase64(s.replace(/=+$/, ""), { alphabet: "base64url" });

/** The application server's VAPID key pair (ECDSA P-256). */
export interface VapidKeys {
  /** Uncompressed public key, base64url: the browser's `applicationServerKey`. */
  publicKey: string;
  privateKey: CryptoKey;
}

const storedSchema = z.object({ publicKey: z.string(), privateJwk: z.record(z.string(), z.unknown()) });
type Stored = z.infer<typeof storedSchema>;

/**
 * The VAPID keys every instance sharing `kv` uses: read from KV; on first start taken from `legacyDir/vapid.json`
 * when an older single-process install has one there (its browsers' subscriptions stay valid), else generated.
 * Kept in KV because browsers bind a subscription to the public key, and any ingest instance may deliver it.
 *
 * @example
 * ```ts
 * const { publicKey } = await sharedVapidKeys(kv);
 * ```
 */
export async function sharedVapidKeys(kv: Deno.Kv, legacyDir?: string): Promise<VapidKeys> {
  const key = keys.vapidKeys();
  let got = await kv.get<unknown>(key);
  if (got.value === null) {
    let stored: Stored | undefined;
    if (legacyDir !== undefined) {
      try {
        stored = storedSchema.parse(JSON.parse(await Deno.readTextFile(join(legacyDir, "vapid.json"))));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    // Two instances starting together: the first write wins and both use it.
    await kv.atomic().check({ key, versionstamp: null }).set(key, stored ?? await generateKeys()).commit();
    got = await kv.get<unknown>(key);
  }
  return await importKeys(storedSchema.parse(got.value));
}

/** A new VAPID key pair in its stored form. */
async function generateKeys(): Promise<Stored> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  return {
    publicKey: b64u(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))),
    privateJwk: await crypto.subtle.exportKey("jwk", pair.privateKey) as Record<string, unknown>,
  };
}

/** Stored keys, ready to sign with. */
async function importKeys(stored: Stored): Promise<VapidKeys> {
  const privateKey = await crypto.subtle.importKey(
    "jwk",
    stored.privateJwk as JsonWebKey,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  return { publicKey: stored.publicKey, privateKey };
}

/**
 * Loads the VAPID keys from `DATA_DIR/vapid.json`, generating and saving them (mode 0600) on first start. Keeping them
 * matters: browsers' subscriptions are bound to the public key.
 */
export async function loadVapidKeys(dataDir: string): Promise<VapidKeys> {
  const file = join(dataDir, "vapid.json");
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (text !== undefined) return await importKeys(storedSchema.parse(JSON.parse(text)));
  const stored = await generateKeys();
  const tmp = `${file}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(stored), { mode: 0o600 });
  await Deno.rename(tmp, file);
  return await importKeys(stored);
}

/** The `Authorization: vapid t=…, k=…` header for a push service at `endpoint` (RFC 8292), valid 12 hours. */
export async function vapidAuthorization(
  keys: VapidKeys,
  endpoint: string,
  subject: string,
  now: number,
): Promise<string> {
  const header = b64u(enc.encode(JSON.stringify({ typ: "JWT", alg: "ES256" })));
  const claims = b64u(enc.encode(JSON.stringify({
    aud: new URL(endpoint).origin,
    exp: Math.floor(now / 1000) + 12 * 3600,
    sub: subject,
  })));
  const input = `${header}.${claims}`;
  // WebCrypto's ECDSA signature is r‖s, the JWS ES256 form.
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, enc.encode(input)),
  );
  return `vapid t=${input}.${b64u(sig)}, k=${keys.publicKey}`;
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: salt as BufferSource, info: info as BufferSource },
      key,
      bytes * 8,
    ),
  );
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Encrypts `plaintext` for one subscription as an `aes128gcm` body (RFC 8291 over RFC 8188): a fresh ECDH key pair
 * and salt per message, one record, the sender's public key as the key id.
 */
export async function encryptPushPayload(
  subscription: { p256dh: string; auth: string },
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const uaPublic = fromB64u(subscription.p256dh);
  const authSecret = fromB64u(subscription.auth);
  const ua = await crypto.subtle.importKey(
    "raw",
    uaPublic as BufferSource,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const local = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const asPublic = new Uint8Array(await crypto.subtle.exportKey("raw", local.publicKey));
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: ua }, local.privateKey, 256));
  const ikm = await hkdf(authSecret, shared, concat(enc.encode("WebPush: info\0"), uaPublic, asPublic), 32);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek as BufferSource, "AES-GCM", false, ["encrypt"]);
  // One record: the payload, then the 0x02 delimiter that marks the last record.
  const record = concat(plaintext, new Uint8Array([2]));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce as BufferSource }, key, record as BufferSource),
  );
  const header = new Uint8Array(16 + 4 + 1);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, 4096);
  header[20] = asPublic.length;
  return concat(header, asPublic, sealed);
}

/** The push service says the subscription is gone (404 or 410): it must be removed. */
export class SubscriptionGoneError extends DeliveryError {
  override name = "SubscriptionGoneError";
}

/** Largest payload a push service must accept (4096-byte record minus overhead). */
export const MAX_PUSH_PAYLOAD = 3_993;

/**
 * Sends one encrypted push message. Throws {@link SubscriptionGoneError} on 404/410, DeliveryError on any other
 * non-2xx answer.
 */
export async function sendPush(
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
  payload: string,
  opts: GuardOptions & { vapid: VapidKeys; subject: string; now?: () => number; ttlSeconds?: number },
): Promise<void> {
  const data = enc.encode(payload);
  if (data.length > MAX_PUSH_PAYLOAD) throw new DeliveryError(`push payload is ${data.length} bytes, over the limit`);
  const body = await encryptPushPayload(subscription.keys, data);
  const res = await postGuarded(subscription.endpoint, {
    allowPrivate: opts.allowPrivate,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
    body,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Encoding": "aes128gcm",
      TTL: String(opts.ttlSeconds ?? 86_400),
      Urgency: "high",
      Authorization: await vapidAuthorization(
        opts.vapid,
        subscription.endpoint,
        opts.subject,
        (opts.now ?? Date.now)(),
      ),
    },
  });
  if (res.status === 404 || res.status === 410) {
    throw new SubscriptionGoneError(`push service answered ${res.status}: the subscription has expired`);
  }
  if (res.status < 200 || res.status > 299) {
    throw new DeliveryError(`push service answered ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ""}`);
  }
}
