import nodemailer from "nodemailer";
import type { NotificationPayload } from "../schema/notify.ts";
import { DeliveryError } from "./webhook.ts";

/** Sends alert emails over SMTP. */
export interface Mailer {
  send(to: string, payload: NotificationPayload): Promise<void>;
  close(): void;
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/**
 * A mailer on `smtpUrl` (smtp:// or smtps://, credentials in the URL, as nodemailer reads it). The message id is
 * derived from the idempotency key, so a redelivered alert carries the same Message-ID and mail clients thread or
 * drop the copy; the key is also in the `X-Breadboard-Idempotency-Key` header.
 *
 * @example
 * ```ts
 * const mailer = smtpMailer("smtp://user:pass@mail.example.com:587", "alerts@example.com");
 * ```
 */
export function smtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl, {
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 10_000,
  } as never);
  const domain = /<[^@>]+@([^>]+)>/.exec(from)?.[1] ?? /@(\S+)$/.exec(from)?.[1] ?? "breadboard.local";
  return {
    async send(to, payload) {
      const a = payload.alert;
      const sign = a.changePercent > 0 ? "+" : "";
      try {
        await transport.sendMail({
          from,
          to,
          subject: `[Breadboard] ${a.message}`,
          messageId: `<${payload.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, "_")}@${domain}>`,
          headers: { "X-Breadboard-Idempotency-Key": payload.idempotencyKey },
          text: [
            a.message,
            "",
            `Symbol:  ${a.symbol}`,
            `Price:   ${a.price}`,
            `Change:  ${sign}${a.changePercent.toFixed(2)}% today`,
            `Rule:    ${a.kind} (${a.rule})`,
            `Time:    ${formatTime(a.time)}`,
          ].join("\n"),
        });
      } catch (err) {
        throw new DeliveryError(`SMTP: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    close: () => transport.close(),
  };
}
