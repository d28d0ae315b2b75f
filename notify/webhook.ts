import type { NotificationPayload } from "../schema/notify.ts";
import { postGuarded } from "./http_post.ts";
import type { GuardOptions } from "./net_guard.ts";

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "Breadboard-Signature";
/** The header carrying the idempotency key (also in the body). */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";

const enc = new TextEncoder();

/** A new webhook signing secret: `whsec_` and 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url", omitPadding: true })}`;
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
 * POSTs the payload as JSON, signed, with a 5 s timeout; any status but 2xx is a failure (redirects included: they
 * are not followed).
 */
export async function sendWebhook(
  target: { url: string; secret: string },
  payload: NotificationPayload,
  guard: GuardOptions,
  now: () => number = Date.now,
): Promise<void> {
  const body = JSON.stringify(payload);
  const res = await postGuarded(target.url, {
    ...guard,
    body,
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "Breadboard-Webhook/1",
      [IDEMPOTENCY_HEADER]: payload.idempotencyKey,
      [SIGNATURE_HEADER]: await signPayload(target.secret, Math.floor(now() / 1000), body),
    },
  });
  if (res.status < 200 || res.status > 299) {
    throw new DeliveryError(`webhook answered ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ""}`);
  }
}
