import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { ChannelBook } from "../../notify/channel_book.ts";
import type { Outbox } from "../../notify/outbox.ts";
import {
  type Channel,
  channelInputSchema,
  channelListSchema,
  channelViewSchema,
  DELIVERY_STATES,
  deliveryListSchema,
} from "../../schema/notify.ts";
import { limitParam } from "./query.ts";
import { ApiError } from "../errors.ts";
import { access, type ApiEnv, apiRouter, errors, json } from "./declare.ts";
import { idParams, newId } from "./ids.ts";

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

/**
 * /api/v1/channels (a user's webhook, email and push channels) and /api/v1/notifications (delivery records: pending,
 * retrying, delivered and dead letters with their reason). Another user's channel id answers 404.
 *
 * @param deps the channel book, the outbox and what this server can deliver
 * @param who the identity middleware
 * @returns the two routers, to mount at /api/v1/channels and /api/v1/notifications
 */
export function notificationRoutes(deps: NotificationDeps, who: MiddlewareHandler<ApiEnv>) {
  const now = deps.now ?? Date.now;
  const mine = async (userId: string, id: string): Promise<Channel> => {
    const ch = await deps.channels.get(userId, id);
    if (!ch) throw new ApiError(404, "not_found", `no channel ${id}`);
    return ch;
  };
  const tags = ["notifications"];
  const read = access("user", who);
  const write = access("write", who);
  const channels = apiRouter()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        tags,
        summary: "The caller's notification channels and what the server offers",
        ...read,
        responses: { 200: json(channelListSchema), ...errors() },
      }),
      async (c) =>
        c.json({
          channels: (await deps.channels.list(c.get("userId"))).map((ch) => channelView(ch)),
          available: deps.available,
          vapidPublicKey: deps.vapidPublicKey,
        }, 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        tags,
        summary: "Add a webhook, email or push channel (webhook secret shown once)",
        ...access("write", who, { json: true }),
        request: { body: { required: true, content: { "application/json": { schema: channelInputSchema } } } },
        responses: { 201: json(channelViewSchema), ...errors({ write: true, body: true }) },
      }),
      async (c) => {
        const ch = await deps.channels.add(c.get("userId"), newId("c"), c.req.valid("json"));
        return c.json(channelView(ch, true), 201);
      },
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        tags,
        summary: "Remove a channel",
        ...write,
        request: { params: idParams },
        responses: { 204: { description: "removed" }, ...errors({ params: true, write: true }) },
      }),
      async (c) => {
        const ch = await mine(c.get("userId"), c.req.valid("param").id);
        await deps.channels.remove(ch.userId, ch.id);
        return c.body(null, 204);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/{id}/test",
        tags,
        summary: "Queue a test notification to a channel",
        ...write,
        request: { params: idParams },
        responses: { 202: json(z.object({ key: z.string() }), "queued"), ...errors({ params: true, write: true }) },
      }),
      async (c) => {
        const ch = await mine(c.get("userId"), c.req.valid("param").id);
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
      },
    );
  const notifications = apiRouter().openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "Delivery records, newest first: dead letters with reasons",
      ...read,
      request: { query: notificationQuerySchema },
      responses: { 200: json(deliveryListSchema), ...errors() },
    }),
    async (c) => {
      const q = c.req.valid("query");
      return c.json({
        notifications: await deps.outbox.list(c.get("userId"), {
          limit: q.limit,
          ...(q.status ? { status: q.status } : {}),
        }),
      }, 200);
    },
  );
  return { channels, notifications };
}
