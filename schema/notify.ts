import { z } from "zod";
import { alertSchema } from "./alert.ts";

/** The kinds of notification channel a user can add. */
export const CHANNEL_KINDS = ["webhook", "email", "push"] as const;
/** A kind of notification channel. */
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

const name = z.string().trim().min(1, { error: "name must not be empty" })
  .max(64, { error: "name is at most 64 characters" });
const b64url = (what: string, bytes: number) =>
  z.string({ error: `${what} is required` }).regex(/^[A-Za-z0-9_-]+={0,2}$/, { error: `${what} must be base64url` })
    .refine((s) => {
      try {
        return Uint8Array.fromBase64(s.replace(/=+$/, ""), { alphabet: "base64url" }).length === bytes;
      } catch {
        return false;
      }
    }, { error: `${what} must be ${bytes} bytes, base64url` });

/** A browser's PushSubscription as `toJSON()` gives it. */
export const pushSubscriptionSchema = z.object({
  endpoint: z.url({ protocol: /^https?$/, error: "subscription.endpoint must be an http(s) URL" }).max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    /** The browser's P-256 public key, uncompressed (65 bytes). */
    p256dh: b64url("subscription.keys.p256dh", 65),
    /** The 16-byte authentication secret. */
    auth: b64url("subscription.keys.auth", 16),
  }, { error: "subscription.keys is required" }),
});

/** Body of POST /api/v1/channels: one channel of one kind. */
export const channelInputSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("webhook"),
    name: name.optional(),
    url: z.url({ protocol: /^https?$/, error: "url must be an http:// or https:// URL" })
      .max(2048, { error: "url is at most 2048 characters" }),
  }).strict(),
  z.object({
    kind: z.literal("email"),
    name: name.optional(),
    address: z.email({ error: "address must be an email address" }).max(254),
  }).strict(),
  z.object({
    kind: z.literal("push"),
    name: name.optional(),
    subscription: pushSubscriptionSchema,
  }).strict(),
], { error: `kind must be one of ${CHANNEL_KINDS.join(", ")}` });

/** A channel as submitted. */
export type ChannelInput = z.infer<typeof channelInputSchema>;

/** A stored channel: the input plus its id, owner and, for webhooks, the signing secret. */
export type Channel = ChannelInput & {
  id: string;
  userId: string;
  createdAt: number;
  /** Webhooks only: the HMAC-SHA256 key that signs each delivery. */
  secret?: string;
};

/** What the API shows of a channel: the webhook secret only when it is created. */
export const channelViewSchema = z.object({
  id: z.string(),
  kind: z.enum(CHANNEL_KINDS),
  name: z.string().optional(),
  createdAt: z.number().int(),
  url: z.string().optional(),
  address: z.string().optional(),
  endpoint: z.string().optional(),
  secret: z.string().optional(),
});

/** Where a notification stands. `dead`: every attempt failed (or the target was refused); `reason` says why. */
export const DELIVERY_STATES = ["pending", "retrying", "delivered", "dead"] as const;

/** The record of one alert's delivery to one channel, kept 30 days. */
export const deliverySchema = z.object({
  /** The idempotency key receivers see: alert id and channel id. */
  key: z.string(),
  alertId: z.string(),
  symbol: z.string(),
  message: z.string(),
  channelId: z.string(),
  kind: z.enum([...CHANNEL_KINDS, "nats"]),
  status: z.enum(DELIVERY_STATES),
  attempts: z.number().int(),
  reason: z.string().optional(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});

/** One delivery record. */
export type Delivery = z.infer<typeof deliverySchema>;

/**
 * Every message on the KV outbox queue. `alert` is staged in the same KV commit that marks the alert raised, and
 * fans out to one `deliver` per channel (and NATS); a `deliver` carries its attempt number and is re-enqueued with a
 * delay when it fails.
 */
export const outboxMessageSchema = z.discriminatedUnion("type", [
  z.object({ v: z.literal(1), type: z.literal("alert"), alert: alertSchema }),
  z.object({
    v: z.literal(1),
    type: z.literal("deliver"),
    key: z.string().min(1),
    userId: z.string(),
    /** A channel id, or "nats" for the JetStream publish. */
    channelId: z.string().min(1),
    attempt: z.number().int().min(1),
    alert: alertSchema,
  }),
]);

/** One outbox message. */
export type OutboxMessage = z.infer<typeof outboxMessageSchema>;

/** The JSON a webhook receives (and a push message carries). */
export interface NotificationPayload {
  /** Same on every redelivery of this alert to this channel. */
  idempotencyKey: string;
  type: "alert";
  alert: {
    id: string;
    time: number;
    symbol: string;
    rule: string;
    kind: string;
    message: string;
    price: number;
    changePercent: number;
  };
}

/** Response of GET /api/v1/channels. */
export const channelListSchema = z.object({
  channels: z.array(channelViewSchema),
  /** Which channel kinds this server can deliver (email needs SMTP_URL; nats is operator-wide). */
  available: z.object({ webhook: z.boolean(), email: z.boolean(), push: z.boolean(), nats: z.boolean() }),
  /** The VAPID public key (base64url) for `PushManager.subscribe({applicationServerKey})`. */
  vapidPublicKey: z.string(),
});

/** Response of GET /api/v1/notifications. */
export const deliveryListSchema = z.object({ notifications: z.array(deliverySchema) });
