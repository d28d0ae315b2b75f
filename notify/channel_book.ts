import { keys } from "../actors/keys.ts";
import { COLLECTION_LIMITS, commitRetrying, Quotas } from "../actors/user_quota.ts";
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

/** Users' notification channels in KV, one key per channel under the user. */
export class ChannelBook {
  readonly #quotas: Quotas;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly opts: GuardOptions & { emailEnabled: boolean; now?: () => number; quotas?: Quotas },
  ) {
    this.#quotas = opts.quotas ?? new Quotas(kv);
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
    let channel: Channel | undefined;
    // The count of channels, the channel and its replacement of an earlier push subscription: one atomic write.
    await commitRetrying(this.kv, async (op) => {
      const existing = await this.list(userId);
      const same = input.kind === "push"
        ? existing.find((c) => c.kind === "push" && c.subscription.endpoint === input.subscription.endpoint)
        : undefined;
      channel = {
        ...input,
        id: same?.id ?? id,
        userId,
        createdAt: same?.createdAt ?? (this.opts.now ?? Date.now)(),
        ...secret,
      } as Channel;
      const key = keys.channel(userId, channel.id);
      op.check(await this.kv.get(key)).set(key, channel);
      await this.#quotas.stage(op, userId, { collection: "channels", delta: same ? 0 : 1 });
    }, "channel");
    return channel!;
  }

  /** Removes a channel; false when it did not exist. */
  async remove(userId: string, id: string): Promise<boolean> {
    let found = true;
    await commitRetrying(this.kv, async (op) => {
      const got = await this.kv.get(keys.channel(userId, id));
      op.check(got);
      if (got.versionstamp === null) return void (found = false);
      op.delete(keys.channel(userId, id));
      await this.#quotas.stage(op, userId, { collection: "channels", delta: -1 });
    }, "channel");
    return found;
  }
}
