import { keys } from "../actors/keys.ts";
import { COLLECTION_LIMITS, Quotas } from "../actors/user_quota.ts";
import { UserRecords } from "../actors/user_records.ts";
import type { Channel, ChannelInput } from "../schema/notify.ts";
import { checkTarget, type GuardOptions } from "./net_guard.ts";
import { newWebhookSecret } from "./webhook.ts";

/** Most channels one user holds. */
export const MAX_CHANNELS = COLLECTION_LIMITS.channels;

/** Raised when a channel cannot be saved; `message` says which field and why. */
export class ChannelError extends Error {
  override name = "ChannelError";
  constructor(readonly field: string, message: string, readonly status: 400 | 409 = 400) {
    super(message);
  }
}

/**
 * Users' notification channels in KV, one key per channel under the user.
 *
 * @example
 * ```ts
 * const channels = new ChannelBook(kv, { emailEnabled: false });
 * await channels.add(userId, "c_1", { kind: "webhook", url: "https://hooks.example.com/bb" });
 * await channels.list(userId); // [the webhook, with its secret]
 * ```
 */
export class ChannelBook {
  /** Channels live under their user's key, so the user's list is a prefix read and needs no index. */
  readonly #records: UserRecords<Channel, { userId: string; id: string }>;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly opts: GuardOptions & { emailEnabled: boolean; now?: () => number; quotas?: Quotas },
  ) {
    this.#records = new UserRecords(kv, opts.quotas ?? new Quotas(kv), {
      collection: "channels",
      what: "channel",
      key: ({ userId, id }) => keys.channel(userId, id),
      indexes: () => [],
      owner: (c) => c.userId,
    });
  }

  /** Every channel of `userId`, oldest first. */
  async list(userId: string): Promise<Channel[]> {
    const out: Channel[] = [];
    for await (const e of this.kv.list<Channel>({ prefix: keys.channelPrefix(userId) })) out.push(e.value);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async get(userId: string, id: string): Promise<Channel | undefined> {
    return (await this.kv.get<Channel>(keys.channel(userId, id))).value ?? undefined;
  }

  /**
   * Validates and saves a channel. A webhook URL or push endpoint must resolve to public addresses only (unless
   * private targets are allowed); email needs SMTP_URL; a push subscription already saved (same endpoint) is
   * replaced rather than added twice.
   */
  async add(userId: string, id: string, input: ChannelInput): Promise<Channel> {
    if (input.kind === "email" && !this.opts.emailEnabled) {
      throw new ChannelError("kind", "email is not available: this server has no SMTP_URL configured");
    }
    const target = input.kind === "webhook" ? input.url : input.kind === "push" ? input.subscription.endpoint : "";
    if (target) {
      try {
        await checkTarget(target, this.opts);
      } catch (err) {
        throw new ChannelError(input.kind === "webhook" ? "url" : "subscription.endpoint", (err as Error).message);
      }
    }
    const secret = input.kind === "webhook" ? { secret: newWebhookSecret() } : {};
    // A push subscription already saved (same endpoint) is replaced, keeping its id, rather than added twice.
    const same = input.kind === "push"
      ? (await this.list(userId)).find((c) =>
        c.kind === "push" && c.subscription.endpoint === input.subscription.endpoint
      )
      : undefined;
    return await this.#records.put({ userId, id: same?.id ?? id }, (old) =>
      ({
        ...input,
        id: same?.id ?? id,
        userId,
        createdAt: old?.createdAt ?? (this.opts.now ?? Date.now)(),
        ...secret,
      }) as Channel);
  }

  /** Removes a channel; false when it did not exist. */
  async remove(userId: string, id: string): Promise<boolean> {
    return await this.#records.delete({ userId, id });
  }
}
