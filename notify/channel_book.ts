import { keys } from "../actors/keys.ts";
import type { Channel, ChannelInput } from "../schema/notify.ts";
import { checkTarget, type GuardOptions } from "./net_guard.ts";
import { newWebhookSecret } from "./webhook.ts";

/** Most channels one user holds. */
export const MAX_CHANNELS = 10;

/** Raised when a channel cannot be saved; `message` says which field and why. */
export class ChannelError extends Error {
  override name = "ChannelError";
  constructor(readonly field: string, message: string, readonly status: 400 | 409 = 400) {
    super(message);
  }
}

/** Users' notification channels in KV, one key per channel under the user. */
export class ChannelBook {
  constructor(
    private readonly kv: Deno.Kv,
    private readonly opts: GuardOptions & { emailEnabled: boolean; now?: () => number },
  ) {}

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
    const existing = await this.list(userId);
    const same = input.kind === "push"
      ? existing.find((c) => c.kind === "push" && c.subscription.endpoint === input.subscription.endpoint)
      : undefined;
    if (!same && existing.length >= MAX_CHANNELS) {
      throw new ChannelError("kind", `at most ${MAX_CHANNELS} channels per user; remove one first`, 409);
    }
    const channel: Channel = {
      ...input,
      id: same?.id ?? id,
      userId,
      createdAt: same?.createdAt ?? (this.opts.now ?? Date.now)(),
      ...(input.kind === "webhook" ? { secret: newWebhookSecret() } : {}),
    };
    await this.kv.set(keys.channel(userId, channel.id), channel);
    return channel;
  }

  /** Removes a channel; false when it did not exist. */
  async remove(userId: string, id: string): Promise<boolean> {
    const got = await this.kv.get(keys.channel(userId, id));
    if (got.versionstamp === null) return false;
    await this.kv.delete(keys.channel(userId, id));
    return true;
  }
}
