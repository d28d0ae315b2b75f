import { join } from "node:path";
import webpush from "web-push";
import { z } from "zod";
import { postGuarded } from "./http_post.ts";
import type { GuardOptions } from "./net_guard.ts";
import { DeliveryError } from "./webhook.ts";
import { keys } from "../actors/keys.ts";

const enc = new TextEncoder();
const b64u = (b: Uint8Array) => b.toBase64({ alphabet: "base64url", omitPadding: true });

/** The application server's VAPID key pair (ECDSA P-256). */
export interface VapidKeys {
  /** Uncompressed public key, base64url: the browser's `applicationServerKey`. */
  publicKey: string;
  /** The private scalar (the JWK's `d`), base64url, as the web-push library takes it. */
  privateKey: string;
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

/** Stored keys, checked to be a usable P-256 signing key. */
async function importKeys(stored: Stored): Promise<VapidKeys> {
  await crypto.subtle.importKey(
    "jwk",
    stored.privateJwk as JsonWebKey,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const d = stored.privateJwk.d;
  if (typeof d !== "string") throw new Error("stored VAPID key has no private part");
  return { publicKey: stored.publicKey, privateKey: d };
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

/** What {@link pushRequest} needs besides the subscription and payload. */
export interface PushOptions {
  vapid: VapidKeys;
  /** The VAPID `sub` claim: a mailto: or https: URL where the push service can reach the operator. */
  subject: string;
  /** How long the push service keeps an undelivered message (default a day). */
  ttlSeconds?: number;
}

/**
 * The encrypted body (RFC 8291, aes128gcm) and headers (VAPID per RFC 8292, TTL, urgency) of one push message,
 * built by the web-push library.
 *
 * @example
 * ```ts
 * const { headers, body } = pushRequest(subscription, JSON.stringify(payload), { vapid, subject: "mailto:ops@example.com" });
 * ```
 */
export function pushRequest(
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
  payload: string,
  opts: PushOptions,
): { headers: Record<string, string>; body: Uint8Array } {
  const details = webpush.generateRequestDetails(subscription, payload, {
    vapidDetails: { subject: opts.subject, publicKey: opts.vapid.publicKey, privateKey: opts.vapid.privateKey },
    TTL: opts.ttlSeconds ?? 86_400,
    urgency: "high",
    contentEncoding: "aes128gcm",
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(details.headers as Record<string, string | number>)) {
    // The POST sets its own length.
    if (name.toLowerCase() !== "content-length") headers[name] = String(value);
  }
  return { headers, body: new Uint8Array(details.body as Uint8Array) };
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
  opts: GuardOptions & PushOptions,
): Promise<void> {
  const size = enc.encode(payload).length;
  if (size > MAX_PUSH_PAYLOAD) throw new DeliveryError(`push payload is ${size} bytes, over the limit`);
  const { headers, body } = pushRequest(subscription, payload, opts);
  // The library only builds the request; the SSRF-guarded POST sends it.
  const res = await postGuarded(subscription.endpoint, {
    allowPrivate: opts.allowPrivate,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
    body,
    headers: { "Content-Type": "application/octet-stream", ...headers },
  });
  if (res.status === 404 || res.status === 410) {
    throw new SubscriptionGoneError(`push service answered ${res.status}: the subscription has expired`);
  }
  if (res.status < 200 || res.status > 299) {
    throw new DeliveryError(`push service answered ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ""}`);
  }
}
