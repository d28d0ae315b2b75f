import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { NotificationPayload } from "../schema/notify.ts";

/** The JetStream stream the app keeps alerts in. */
export const ALERT_STREAM = "BREADBOARD_ALERTS";

/** Publishes alerts to NATS JetStream. */
export interface AlertPublisher {
  publish(payload: NotificationPayload): Promise<void>;
  close(): Promise<void>;
}

/** The subject of a symbol's alerts: `alerts.<symbol>`, with `.`, `*` and `>` (subject syntax) replaced by `_`. */
export function alertSubject(symbol: string): string {
  return `alerts.${symbol.replace(/[.*> ]/g, "_")}`;
}

/**
 * Connects lazily to `servers` and creates the stream (subjects `alerts.>`) when it is missing. Each publish waits for
 * the stream's acknowledgement and carries the idempotency key as the JetStream message id, so a redelivery within
 * the stream's duplicate window is stored once.
 *
 * @example
 * ```ts
 * const publisher = natsPublisher("nats://127.0.0.1:4222");
 * alertSubject("AAPL"); // the subject the alert goes out on
 * ```
 */
export function natsPublisher(servers: string): AlertPublisher {
  let conn: Promise<NatsConnection> | undefined;
  const open = () =>
    conn ??= (async () => {
      const nc = await connect({
        servers: servers.split(","),
        name: "breadboard",
        timeout: 5_000,
        maxReconnectAttempts: -1,
      });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.info(ALERT_STREAM).catch(async () => {
          await jsm.streams.add({ name: ALERT_STREAM, subjects: ["alerts.>"], duplicate_window: 3_600_000_000_000 });
        });
      } catch (err) {
        await nc.close();
        throw err;
      }
      return nc;
    })().catch((err) => {
      conn = undefined;
      throw err;
    });
  return {
    async publish(payload) {
      const js = jetstream(await open(), { timeout: 5_000 });
      await js.publish(alertSubject(payload.alert.symbol), JSON.stringify(payload), {
        msgID: payload.idempotencyKey,
      });
    },
    async close() {
      const c = conn;
      conn = undefined;
      await (await c?.catch(() => undefined))?.close();
    },
  };
}
