import type { NotificationPayload } from "../schema/notify.ts";
import { postGuarded } from "./http_post.ts";
import type { GuardOptions } from "./net_guard.ts";

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "Breadboard-Signature";
/** The header carrying the idempotency key (also in the body). */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** The Standard Webhooks headers: the message id (the idempotency key), the send time and the signature. */
export const STANDARD_WEBHOOK_HEADERS = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature",
} as const;

const enc = new TextEncoder();

/**
 * A new webhook signing secret: `whsec_` and 32 random bytes in base64, the form Standard Webhooks libraries take.
 * (Secrets made before were base64url; both sign the same.)
 */
export function newWebhookSecret(): string {
  return `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`;
}

/** The key bytes of a secret: the base64 (or base64url) after `whsec_`; a secret in no base64 form signs as text. */
function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const encoded = secret.replace(/^whsec_/, "").replaceAll("-", "+").replaceAll("_", "/");
  try {
    return Uint8Array.fromBase64(encoded.padEnd(Math.ceil(encoded.length / 4) * 4, "="));
  } catch {
    return enc.encode(secret);
  }
}

/**
 * The `webhook-signature` value of Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of `"<id>.<t>.<body>"`,
 * keyed with the secret's bytes (the base64 after `whsec_`).
 *
 * @example
 * ```ts
 * const sig = await standardSignature(secret, payload.idempotencyKey, Math.floor(Date.now() / 1000), body);
 * ```
 */
export async function standardSignature(
  secret: string,
  id: string,
  unixSeconds: number,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secretBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${id}.${unixSeconds}.${body}`)));
  return `v1,${mac.toBase64()}`;
}

/**
 * The signature header value for `body` sent at `unixSeconds`. A receiver recomputes the HMAC over `"<t>.<body>"`
 * with its secret, compares in constant time and rejects a `t` too far from its clock (replays).
 */
export async function signPayload(secret: string, unixSeconds: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${unixSeconds}.${body}`)));
  return `t=${unixSeconds},v1=${mac.toHex()}`;
}

/** Raised for a delivery the receiver did not accept; `message` is the reason shown in the dead-letter record. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
}

/**
 * POSTs the payload as JSON, signed twice (Standard Webhooks headers, and `Breadboard-Signature` in Stripe's form),
 * with a 5 s timeout; any status but 2xx is a failure (redirects included: they are not followed).
 *
 * @example
 * ```ts
 * await sendWebhook({ url: "https://hooks.example.com/bb", secret }, payload, { allowPrivate: false });
 * ```
 */
export async function sendWebhook(
  target: { url: string; secret: string },
  payload: NotificationPayload,
  guard: GuardOptions,
  now: () => number = Date.now,
): Promise<void> {
  const body = JSON.stringify(payload);
  const t = Math.floor(now() / 1000);
  const res = await postGuarded(target.url, {
    ...guard,
    body,
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "Breadboard-Webhook/1",
      [IDEMPOTENCY_HEADER]: payload.idempotencyKey,
      [SIGNATURE_HEADER]: await signPayload(target.secret, t, body),
      [STANDARD_WEBHOOK_HEADERS.id]: payload.idempotencyKey,
      [STANDARD_WEBHOOK_HEADERS.timestamp]: String(t),
      [STANDARD_WEBHOOK_HEADERS.signature]: await standardSignature(target.secret, payload.idempotencyKey, t, body),
    },
  });
  if (res.status < 200 || res.status > 299) {
    throw new DeliveryError(`webhook answered ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ""}`);
  }
}
