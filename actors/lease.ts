import { keys } from "./keys.ts";
import type { Logger } from "../schema/log.ts";

/** A lease as stored in KV. */
export interface Lease {
  owner: string;
  /** Epoch ms; after it anyone may take the lease. */
  expiresAt: number;
}

interface Member {
  id: string;
  expiresAt: number;
}

/** Options of {@link LeaseManager}. */
export interface LeaseOptions {
  kv: Deno.Kv;
  /** This process's id; keep it across restarts (a restarted process then keeps its own leases at once). */
  id: string;
  namespace?: string;
  /** How long a lease and a membership last without renewal (default 15 s); renewed every third of it. */
  leaseMs?: number;
  log?: Logger;
  now?: () => number;
}

/** What a {@link LeaseManager} tells its process, from {@link LeaseManager.start} on. */
export interface LeaseHandlers {
  /** Called with symbols this process now owns (`owns` already says yes for them). */
  onGain: (symbols: string[]) => Promise<void> | void;
  /** Called with symbols this process no longer owns; it should snapshot and drop them. */
  onLose: (symbols: string[]) => Promise<void> | void;
}

/**
 * Splits symbols between the processes that share one KV.
 *
 * Each process keeps a membership record alive. Every symbol belongs to the live member with the highest hash of
 * (member, symbol) — rendezvous hashing, so when a member comes or goes only its share moves. A process takes a
 * symbol by writing its lease with an atomic check-and-set (only when the lease is free, expired or its own) and
 * renews it every third of the lease time; it gives up symbols that hash to another live member. When a process
 * dies its membership and leases expire and the others take its symbols within one lease time.
 */
export class LeaseManager {
  readonly #o: Required<Omit<LeaseOptions, "log">> & Pick<LeaseOptions, "log">;
  #symbols: string[] = [];
  readonly #owned = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;
  #members: string[] = [];
  #handlers: LeaseHandlers = { onGain: () => {}, onLose: () => {} };

  constructor(options: LeaseOptions) {
    this.#o = { namespace: "live", leaseMs: 15_000, now: Date.now, ...options };
  }

  /** The symbols to split; the next round takes or gives up the difference. */
  setSymbols(symbols: readonly string[]): void {
    this.#symbols = [...new Set(symbols)];
    if (this.#timer !== undefined) void this.round();
  }

  owns(symbol: string): boolean {
    return this.#owned.has(symbol);
  }

  owned(): string[] {
    return [...this.#owned];
  }

  /**
   * Members of `namespace` whose membership has not expired, read from KV now (before this process joins).
   *
   * @example
   * ```ts
   * const others = (await LeaseManager.liveMembers(kv, "live")).filter((id) => id !== myId);
   * ```
   */
  static async liveMembers(kv: Deno.Kv, namespace: string, now = Date.now()): Promise<string[]> {
    const live: string[] = [];
    for await (const e of kv.list<Member>({ prefix: keys.memberPrefix(namespace) })) {
      if (e.value.expiresAt > now) live.push(e.value.id);
    }
    return live.sort();
  }

  /** Live members as of the last round. */
  members(): string[] {
    return [...this.#members];
  }

  /**
   * Runs the first round now, then one every third of the lease time, telling `handlers` what moved. Until then
   * the manager owns nothing, so whatever asks `owns` can be built before it starts.
   */
  async start(handlers: LeaseHandlers): Promise<void> {
    this.#handlers = handlers;
    await this.round();
    const loop = () => {
      this.#timer = setTimeout(async () => {
        await this.round();
        if (!this.#stopped) loop();
      }, Math.max(20, Math.floor(this.#o.leaseMs / 3)));
    };
    loop();
  }

  /** One round: heartbeat, read members, take and renew the symbols that hash here, give up the rest. */
  round(): Promise<void> {
    this.#round ??= this.#doRound().catch((err) => {
      this.#o.log?.("warn", "lease round failed; retrying", { error: String(err) });
    }).finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async #doRound(): Promise<void> {
    if (this.#stopped) return;
    const { kv, namespace: ns, id, leaseMs } = this.#o;
    const now = this.#o.now();
    await kv.set(keys.member(ns, id), { id, expiresAt: now + leaseMs } satisfies Member, { expireIn: leaseMs * 4 });
    const live: string[] = [];
    for await (const e of kv.list<Member>({ prefix: keys.memberPrefix(ns) })) {
      if (e.value && e.value.expiresAt > now) live.push(e.value.id);
    }
    if (!live.includes(id)) live.push(id);
    this.#members = live.sort();
    const wanted = new Set(this.#symbols.filter((s) => rendezvous(live, s) === id));
    const surplus = [...this.#owned].filter((s) => !wanted.has(s));
    if (surplus.length > 0) await this.#giveUp(surplus);

    const gained: string[] = [];
    const taken: string[] = []; // owned until now, but another process holds the lease
    await Promise.all([...wanted].map(async (s) => {
      const key = keys.lease(ns, s);
      const cur = await kv.get<Lease>(key);
      const l = cur.value;
      const free = !l || l.owner === id || l.expiresAt <= now;
      const ok = free &&
        (await kv.atomic().check(cur).set(key, { owner: id, expiresAt: now + leaseMs } satisfies Lease).commit()).ok;
      if (ok && !this.#owned.has(s)) gained.push(s);
      if (!ok && this.#owned.delete(s)) taken.push(s);
    }));
    if (taken.length > 0) await this.#handlers.onLose(taken);
    if (gained.length > 0) {
      for (const s of gained) this.#owned.add(s);
      await this.#handlers.onGain(gained);
      this.#o.log?.("info", "symbols taken", { count: gained.length, owned: this.#owned.size, members: live.length });
    }
  }

  /** Hands symbols back: the owner snapshots them first, then the leases are deleted so another takes them now. */
  async #giveUp(symbols: string[]): Promise<void> {
    for (const s of symbols) this.#owned.delete(s);
    await this.#handlers.onLose(symbols);
    const { kv, namespace: ns, id } = this.#o;
    await Promise.all(symbols.map(async (s) => {
      const cur = await kv.get<Lease>(keys.lease(ns, s));
      if (cur.value?.owner === id) await kv.atomic().check(cur).delete(keys.lease(ns, s)).commit();
    }));
    this.#o.log?.("info", "symbols handed over", { count: symbols.length, owned: this.#owned.size });
  }

  /** Stops renewing, hands every symbol back and leaves the membership. */
  async stop(release = true): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
    if (release && this.#owned.size > 0) await this.#giveUp([...this.#owned]);
    if (release) await this.#o.kv.delete(keys.member(this.#o.namespace, this.#o.id));
  }
}

/** The member with the highest hash of (member, symbol). */
export function rendezvous(members: readonly string[], symbol: string): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const m of members) {
    const score = fnv1a(`${m}|${symbol}`);
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  // Final avalanche so similar inputs spread over the whole range.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
