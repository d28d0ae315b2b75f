import type { Quotas } from "../actors/user_quota.ts";
import { ChannelBook } from "../notify/channel_book.ts";
import { smtpMailer } from "../notify/email.ts";
import { natsPublisher } from "../notify/nats.ts";
import { Outbox } from "../notify/outbox.ts";
import { sharedVapidKeys } from "../notify/web_push.ts";
import type { Config } from "../schema/env.ts";
import type { Logger } from "./process.ts";

/** Notification channels and the outbox, opened once per process and shared by its roles. */
export interface Notify {
  channels: ChannelBook;
  outbox: Outbox;
  /** The VAPID public key browsers subscribe with. */
  vapidPublicKey: string;
  /** Which channel kinds this product can deliver. */
  available: { webhook: boolean; email: boolean; push: boolean; nats: boolean };
  close(): Promise<void>;
}

/**
 * Opens the channel book and the outbox on `kv`. With `deliver` (a process that runs ingest), the outbox gets its
 * mailer and JetStream publisher and an older install's `DATA_DIR/vapid.json` moves into KV; a web-only process only
 * enqueues and reads delivery records.
 *
 * @example
 * ```ts
 * const notify = await openNotify(config, kv, books.quotas, log, true);
 * notify.outbox.listen();
 * ```
 */
export async function openNotify(
  config: Config,
  kv: Deno.Kv,
  quotas: Quotas,
  log: Logger,
  deliver: boolean,
): Promise<Notify> {
  const guard = { allowPrivate: config.notify.allowPrivate };
  const emailEnabled = config.notify.smtpUrl !== undefined;
  const channels = new ChannelBook(kv, { ...guard, emailEnabled, quotas });
  const vapid = await sharedVapidKeys(kv, deliver ? config.dataDir : undefined);
  const mailer = deliver && config.notify.smtpUrl
    ? smtpMailer(config.notify.smtpUrl, config.notify.smtpFrom)
    : undefined;
  const nats = deliver && config.notify.natsUrl ? natsPublisher(config.notify.natsUrl) : undefined;
  const outbox = new Outbox({
    kv,
    channels,
    guard,
    maxAttempts: config.notify.maxAttempts,
    retryMs: config.notify.retryMs,
    ...(mailer ? { mailer } : {}),
    ...(nats ? { nats } : {}),
    push: { vapid, subject: config.notify.vapidSubject },
    log,
  });
  return {
    channels,
    outbox,
    vapidPublicKey: vapid.publicKey,
    available: { webhook: true, email: emailEnabled, push: true, nats: config.notify.natsUrl !== undefined },
    async close() {
      mailer?.close();
      await nats?.close();
    },
  };
}
