import { keys } from "../actors/keys.ts";
import type { Alert } from "../schema/alert.ts";
import {
  type Channel,
  type Delivery,
  deliverySchema,
  type NotificationPayload,
  type OutboxMessage,
  outboxMessageSchema,
} from "../schema/notify.ts";
import type { ChannelBook } from "./channel_book.ts";
import type { Mailer } from "./email.ts";
import type { AlertPublisher } from "./nats.ts";
import { type GuardOptions, UnsafeTargetError } from "./net_guard.ts";
import { sendPush, SubscriptionGoneError, type VapidKeys } from "./web_push.ts";
import { DeliveryError, sendWebhook } from "./webhook.ts";
import type { Logger } from "../schema/log.ts";

/** Owner of delivery records that belong to no user (the NATS publish). */
export const SYSTEM_OWNER = "_system";
const RECORD_TTL_MS = 30 * 86_400_000;

/** Options of {@link Outbox}. */
export interface OutboxOptions {
  kv: Deno.Kv;
  channels: ChannelBook;
  guard: GuardOptions;
  /** Attempts per channel before the message is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; each later one is four times longer, at most an hour. */
  retryMs: number;
  mailer?: Mailer;
  nats?: AlertPublisher;
  push?: { vapid: VapidKeys; subject: string };
  now?: () => number;
  log?: Logger;
}

/** Counters for /metrics. */
export interface OutboxStats {
  delivered: number;
  retried: number;
  dead: number;
  invalid: number;
}

/** What a channel receives for `alert`, under `key`. */
export function payloadOf(alert: Alert, key: string): NotificationPayload {
  return {
    idempotencyKey: key,
    type: "alert",
    alert: {
      id: alert.id,
      time: alert.time,
      symbol: alert.symbol,
      rule: alert.ruleId,
      kind: alert.kind,
      message: alert.message,
      price: alert.price,
      changePercent: alert.changePercent,
    },
  };
}

/**
 * The notification outbox on the Deno KV queue. At least once, end to end:
 *
 * 1. {@link stage} adds an `alert` message to the KV commit that marks the alert raised, so it is queued exactly when
 *    the alert counts as raised.
 * 2. Its handler fans out one `deliver` message per channel of the alert's owner (and one for NATS), in one commit
 *    guarded by a marker, so a redelivered `alert` does not fan out twice.
 * 3. A `deliver` that fails is queued again with a delay (`retryMs`, ×4 per attempt); after `maxAttempts`, or at
 *    once for a refused target, its record turns `dead` with the reason. A process that dies mid-delivery gets the
 *    message back from the queue after its restart.
 *
 * Every message is validated against the zod envelope; one that does not parse is logged and dropped.
 *
 * @example
 * ```ts
 * const outbox = new Outbox({ kv, channels, guard: {}, maxAttempts: 8, retryMs: 5_000, log });
 * outbox.listen(); // deliver what alerts queue
 * await outbox.list(userId, { status: "dead", limit: 20 });
 * ```
 */
export class Outbox {
  #stats: OutboxStats = { delivered: 0, retried: 0, dead: 0, invalid: 0 };
  #listening: Promise<void> | undefined;
  constructor(private readonly o: OutboxOptions) {}

  /** Adds the alert's outbox message to `op`. */
  stage(op: Deno.AtomicOperation, alert: Alert): void {
    const msg: OutboxMessage = { v: 1, type: "alert", alert };
    op.enqueue(msg, { keysIfUndelivered: [keys.outboxUndelivered(alert.userId || SYSTEM_OWNER, alert.id)] });
  }

  /** Queues a test message to `channel`, as if `alert` had been raised for it. */
  async enqueueTest(channel: Channel, alert: Alert): Promise<string> {
    const { userId, id: channelId } = channel;
    const key = `${alert.id}.${channelId}`;
    await this.o.kv.atomic()
      .set(keys.delivery(userId, key), this.#record(key, alert, channelId, "pending", 0, channel.kind), {
        expireIn: RECORD_TTL_MS,
      })
      .enqueue({ v: 1, type: "deliver", key, userId, channelId, attempt: 1, alert } satisfies OutboxMessage)
      .commit();
    return key;
  }

  /** Starts this process's one queue listener. */
  listen(): void {
    this.#listening ??= this.o.kv.listenQueue((raw) => this.handle(raw)).catch((err) => {
      this.o.log?.("error", "outbox listener stopped", { error: String(err) });
    });
  }

  stats(): OutboxStats {
    return { ...this.#stats };
  }

  /** Handles one queue message. Throws only when KV fails, so the queue retries it. */
  async handle(raw: unknown): Promise<void> {
    const parsed = outboxMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.#stats.invalid++;
      this.o.log?.("warn", "outbox message dropped: not a valid envelope", { issues: parsed.error.issues.length });
      return;
    }
    const msg = parsed.data;
    if (msg.type === "alert") await this.#fanOut(msg.alert);
    else await this.#deliver(msg);
  }

  /** Delivery records of `userId`, newest first, with what the queue itself could not hand over. */
  async list(userId: string, opts: { status?: Delivery["status"]; limit: number }): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for await (const e of this.o.kv.list<Delivery>({ prefix: keys.deliveryPrefix(userId) }, { limit: 5_000 })) {
      const d = deliverySchema.safeParse(e.value);
      if (d.success) out.push(d.data);
    }
    for await (const e of this.o.kv.list({ prefix: keys.outboxUndeliveredPrefix(userId) }, { limit: 1_000 })) {
      const m = outboxMessageSchema.safeParse(e.value);
      if (!m.success) continue;
      const key = m.data.type === "deliver" ? m.data.key : m.data.alert.id;
      const channelId = m.data.type === "deliver" ? m.data.channelId : "";
      const kind = channelId === "nats" ? "nats" : (await this.o.channels.get(userId, channelId))?.kind ?? "webhook";
      out.push({
        ...this.#record(key, m.data.alert, channelId, "dead", 0, kind),
        reason: "the outbox could not process this message (storage errors on every retry)",
      });
    }
    return out
      .filter((d) => !opts.status || d.status === opts.status)
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .slice(0, opts.limit);
  }

  #now(): number {
    return (this.o.now ?? Date.now)();
  }

  #record(
    key: string,
    alert: Alert,
    channelId: string,
    status: Delivery["status"],
    attempts: number,
    kind: Delivery["kind"],
  ): Delivery {
    const now = this.#now();
    return {
      key,
      alertId: alert.id,
      symbol: alert.symbol,
      message: alert.message,
      channelId,
      kind,
      status,
      attempts,
      createdAt: now,
      updatedAt: now,
    };
  }

  async #fanOut(alert: Alert): Promise<void> {
    const channels = alert.userId ? await this.o.channels.list(alert.userId) : [];
    const targets: { owner: string; channelId: string; kind: Delivery["kind"] }[] = channels.map((c) => ({
      owner: alert.userId,
      channelId: c.id,
      kind: c.kind,
    }));
    if (this.o.nats) targets.push({ owner: SYSTEM_OWNER, channelId: "nats", kind: "nats" });
    if (targets.length === 0) return;
    const marker = keys.outboxFanout(alert.id);
    const op = this.o.kv.atomic()
      .check({ key: marker, versionstamp: null })
      .set(marker, this.#now(), { expireIn: 7 * 86_400_000 });
    for (const t of targets) {
      const key = `${alert.id}.${t.channelId}`;
      const msg: OutboxMessage = {
        v: 1,
        type: "deliver",
        key,
        userId: t.owner,
        channelId: t.channelId,
        attempt: 1,
        alert,
      };
      op.set(keys.delivery(t.owner, key), this.#record(key, alert, t.channelId, "pending", 0, t.kind), {
        expireIn: RECORD_TTL_MS,
      });
      op.enqueue(msg, { keysIfUndelivered: [keys.outboxUndelivered(t.owner, key)] });
    }
    // Not ok: an earlier run of this message already fanned out.
    await op.commit();
  }

  async #deliver(msg: Extract<OutboxMessage, { type: "deliver" }>): Promise<void> {
    const recKey = keys.delivery(msg.userId, msg.key);
    const prev = (await this.o.kv.get<Delivery>(recKey)).value;
    if (prev?.status === "delivered" || prev?.status === "dead") return;
    const channel = msg.channelId === "nats" ? undefined : await this.o.channels.get(msg.userId, msg.channelId);
    if (msg.channelId !== "nats" && !channel) {
      // The user removed the channel since: nothing to deliver to.
      await this.o.kv.delete(recKey);
      return;
    }
    const kind: Delivery["kind"] = channel?.kind ?? "nats";
    const base = prev ?? this.#record(msg.key, msg.alert, msg.channelId, "pending", 0, kind);
    try {
      await this.#send(channel, payloadOf(msg.alert, msg.key));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const gone = err instanceof SubscriptionGoneError;
      const permanent = gone || err instanceof UnsafeTargetError;
      if (gone) await this.o.channels.remove(msg.userId, msg.channelId);
      const rec: Delivery = { ...base, kind, attempts: msg.attempt, reason, updatedAt: this.#now() };
      if (!permanent && msg.attempt < this.o.maxAttempts) {
        const delay = Math.min(this.o.retryMs * 4 ** (msg.attempt - 1), 3_600_000) * (1 + Math.random() * 0.1);
        await this.o.kv.atomic()
          .set(recKey, { ...rec, status: "retrying" }, { expireIn: RECORD_TTL_MS })
          .enqueue({ ...msg, attempt: msg.attempt + 1 } satisfies OutboxMessage, {
            delay: Math.round(delay),
            keysIfUndelivered: [keys.outboxUndelivered(msg.userId, msg.key)],
          })
          .commit();
        this.#stats.retried++;
        this.o.log?.("warn", "notification failed; retrying", {
          key: msg.key,
          kind,
          attempt: msg.attempt,
          retryInMs: Math.round(delay),
          reason,
        });
        return;
      }
      const why = permanent ? reason : `gave up after ${msg.attempt} attempts: ${reason}`;
      await this.o.kv.set(recKey, { ...rec, status: "dead", reason: why }, { expireIn: RECORD_TTL_MS });
      this.#stats.dead++;
      this.o.log?.("warn", "notification dead-lettered", { key: msg.key, kind, reason: why });
      return;
    }
    await this.o.kv.set(
      recKey,
      {
        ...base,
        kind,
        status: "delivered",
        attempts: msg.attempt,
        updatedAt: this.#now(),
      } satisfies Delivery,
      { expireIn: RECORD_TTL_MS },
    );
    this.#stats.delivered++;
  }

  async #send(channel: Channel | undefined, payload: NotificationPayload): Promise<void> {
    if (!channel) {
      if (!this.o.nats) throw new DeliveryError("NATS is not configured (NATS_URL)");
      return await this.o.nats.publish(payload);
    }
    switch (channel.kind) {
      case "webhook":
        return await sendWebhook({ url: channel.url, secret: channel.secret ?? "" }, payload, this.o.guard, this.o.now);
      case "email":
        if (!this.o.mailer) throw new DeliveryError("email is not configured on this server (SMTP_URL)");
        return await this.o.mailer.send(channel.address, payload);
      case "push":
        if (!this.o.push) throw new DeliveryError("web push is not configured");
        return await sendPush(channel.subscription, JSON.stringify(payload), {
          ...this.o.guard,
          vapid: this.o.push.vapid,
          subject: this.o.push.subject,
        });
    }
  }
}
