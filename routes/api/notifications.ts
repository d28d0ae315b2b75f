import { Hono } from "hono";
import { z } from "zod";
import { type ChannelBook, ChannelError } from "../../notify/channel_book.ts";
import type { Outbox } from "../../notify/outbox.ts";
import { type Channel, channelInputSchema, DELIVERY_STATES } from "../../schema/notify.ts";
import { limitParam } from "./query.ts";
import { ApiError } from "../errors.ts";
import type { IdentityVars } from "../identity.ts";
import { readJson } from "./body.ts";
import { idParam, newId } from "./ids.ts";

/** What the notification routes need. */
export interface NotificationDeps {
  channels: ChannelBook;
  outbox: Outbox;
  /** The VAPID public key browsers subscribe with. */
  vapidPublicKey: string;
  /** Which channel kinds this server can deliver. */
  available: { webhook: boolean; email: boolean; push: boolean; nats: boolean };
  now?: () => number;
}

/** Query of GET /api/v1/notifications. */
export const notificationQuerySchema = z.object({
  status: z.enum(DELIVERY_STATES, { error: `status must be one of ${DELIVERY_STATES.join(", ")}` }).optional(),
  limit: limitParam(500, 100),
}).strict();

/** A channel as the API shows it: the webhook secret is only in the creation response. */
export function channelView(c: Channel, withSecret = false): Record<string, unknown> {
  const base = { id: c.id, kind: c.kind, ...(c.name ? { name: c.name } : {}), createdAt: c.createdAt };
  if (c.kind === "webhook") return { ...base, url: c.url, ...(withSecret && c.secret ? { secret: c.secret } : {}) };
  if (c.kind === "email") return { ...base, address: c.address };
  return { ...base, endpoint: c.subscription.endpoint };
}

function toApiError(err: unknown): never {
  if (err instanceof ChannelError) {
    throw new ApiError(err.status, err.status === 409 ? "limit_reached" : "invalid_input", err.message, [
      { path: err.field, message: err.message },
    ]);
  }
  throw err;
}

/**
 * /api/v1/channels (a user's webhook, email and push channels) and /api/v1/notifications (delivery records: pending,
 * retrying, delivered and dead letters with their reason). Another user's channel id answers 404.
 */
export function notificationRoutes(deps: NotificationDeps): {
  channels: Hono<{ Variables: IdentityVars }>;
  notifications: Hono<{ Variables: IdentityVars }>;
} {
  const now = deps.now ?? Date.now;
  const mine = async (userId: string, id: string): Promise<Channel> => {
    const ch = await deps.channels.get(userId, idParam.parse(id));
    if (!ch) throw new ApiError(404, "not_found", `no channel ${id}`);
    return ch;
  };
  const channels = new Hono<{ Variables: IdentityVars }>()
    .get("/", async (c) =>
      c.json({
        channels: (await deps.channels.list(c.get("userId"))).map((ch) => channelView(ch)),
        available: deps.available,
        vapidPublicKey: deps.vapidPublicKey,
      }))
    .post("/", async (c) => {
      const input = channelInputSchema.parse(await readJson(c));
      const ch = await deps.channels.add(c.get("userId"), newId("c"), input).catch(toApiError);
      return c.json(channelView(ch, true), 201);
    })
    .delete("/:id", async (c) => {
      const ch = await mine(c.get("userId"), c.req.param("id"));
      await deps.channels.remove(ch.userId, ch.id);
      return c.body(null, 204);
    })
    .post("/:id/test", async (c) => {
      const ch = await mine(c.get("userId"), c.req.param("id"));
      const t = now();
      const key = await deps.outbox.enqueueTest(ch, {
        id: `test-${t}`,
        time: t,
        symbol: "TEST",
        ruleId: "test",
        userId: ch.userId,
        kind: "price_above",
        window: "",
        message: "Test notification from Breadboard",
        price: 0,
        changePercent: 0,
      });
      return c.json({ key }, 202);
    });
  const notifications = new Hono<{ Variables: IdentityVars }>()
    .get("/", async (c) => {
      const q = notificationQuerySchema.parse(c.req.query());
      return c.json({
        notifications: await deps.outbox.list(c.get("userId"), {
          limit: q.limit,
          ...(q.status ? { status: q.status } : {}),
        }),
      });
    });
  return { channels, notifications };
}
