import { keys } from "./keys.ts";
import { backoffDelay } from "../schema/backoff.ts";
import { isKvBusy, KvBusyError, WriteConflictError } from "./kv_versioned.ts";

/** The user-owned collections that have a per-user cap. */
export type Collection = "rules" | "watchlists" | "channels" | "tokens";

/** Most records of each collection one user holds. */
export const COLLECTION_LIMITS: Readonly<Record<Collection, number>> = {
  rules: 200,
  watchlists: 20,
  channels: 10,
  tokens: 20,
};

const NOUN: Record<Collection, string> = {
  rules: "alert rules",
  watchlists: "watchlists",
  channels: "notification channels",
  tokens: "API tokens",
};

/** Raised when a write would pass a limit; `limit` names it (`rules`, `symbols_per_user`, `tracked_symbols`, ...). */
export class LimitError extends Error {
  override name = "LimitError";
  constructor(readonly limit: string, message: string) {
    super(message);
  }
}

/** Budgets of {@link Quotas}. */
export interface QuotaOptions {
  /** Distinct symbols one user's watchlists and rules may hold (MAX_SYMBOLS_PER_USER). */
  maxSymbolsPerUser?: number;
  /** Symbols tracked in all, the always-tracked ones included (MAX_TRACKED_SYMBOLS). */
  maxTrackedSymbols?: number;
  /** Symbols tracked whatever users do (SYMBOLS): free of the global budget. */
  alwaysTracked?: readonly string[];
}

/** What one write changes for its user. */
export interface QuotaChange {
  collection: Collection;
  /** +1 for a new record, -1 for a deleted one, 0 for a replaced one. */
  delta: -1 | 0 | 1;
  /** Symbols the record referenced before the write, and after it. */
  before?: readonly string[];
  after?: readonly string[];
}

/** Where each collection keeps its per-user index, to count records saved before counters existed. */
const INDEX_PREFIX: Record<Collection, (userId: string) => Deno.KvKey> = {
  rules: keys.ruleByUserPrefix,
  watchlists: keys.watchlistByUserPrefix,
  channels: keys.channelPrefix,
  tokens: keys.tokenByUserPrefix,
};

/**
 * Per-user caps and symbol budgets, enforced inside the same KV atomic operation as the write they guard.
 *
 * Each user has a counter per collection and a record of how many of their records reference each symbol; each
 * symbol has a count of users referencing it, and one global counter holds how many symbols users added beyond the
 * always-tracked ones. {@link stage} reads those entries, adds versionstamp checks and their new values to the
 * caller's operation, and throws {@link LimitError} when the write would pass a limit. Parallel writers conflict on
 * the checks and retry ({@link commitRetrying}), so no count-then-write window exists.
 */
export class Quotas {
  readonly maxSymbolsPerUser: number;
  readonly maxTrackedSymbols: number;
  readonly #always: Set<string>;

  constructor(private readonly kv: Deno.Kv, options: QuotaOptions = {}) {
    this.maxSymbolsPerUser = options.maxSymbolsPerUser ?? 500;
    this.maxTrackedSymbols = options.maxTrackedSymbols ?? 5_000;
    this.#always = new Set(options.alwaysTracked ?? []);
  }

  /**
   * Adds to `op` the checks and writes that apply `change` for `userId`.
   *
   * @param op the atomic operation that also writes the record and its index keys
   * @returns nothing; throws {@link LimitError} when a cap or budget would be passed
   * @example
   * ```ts
   * await commitRetrying(kv, async (op) => {
   *   op.set(keys.rule(id), rule);
   *   await quotas.stage(op, userId, { collection: "rules", delta: 1, after: [rule.symbol] });
   * }, "rule");
   * ```
   */
  async stage(op: Deno.AtomicOperation, userId: string, change: QuotaChange): Promise<void> {
    const countKey = keys.userCount(userId, change.collection);
    const symKey = keys.userSymbols(userId);
    const [countE, symE] = await this.kv.getMany<[number, Record<string, number>]>([countKey, symKey]);
    if (change.delta !== 0) {
      const n = countE.versionstamp === null ? await this.#countExisting(change.collection, userId) : countE.value!;
      const limit = COLLECTION_LIMITS[change.collection];
      if (change.delta > 0 && n + change.delta > limit) {
        throw new LimitError(
          change.collection,
          `at most ${limit} ${NOUN[change.collection]} per user; remove one first`,
        );
      }
      op.check(countE).set(countKey, Math.max(0, n + change.delta));
    }
    const before = new Set(change.before ?? []);
    const after = new Set(change.after ?? []);
    const counts: Record<string, number> = { ...(symE.value ?? {}) };
    const touched = new Set<string>();
    for (const s of before) {
      if (after.has(s)) continue;
      const left = (counts[s] ?? 0) - 1;
      if (left <= 0) {
        if (counts[s] !== undefined) touched.add(s);
        delete counts[s];
      } else counts[s] = left;
    }
    const added: string[] = [];
    for (const s of after) {
      if (before.has(s)) continue;
      if ((counts[s] ?? 0) === 0) (added.push(s), touched.add(s));
      counts[s] = (counts[s] ?? 0) + 1;
    }
    if (before.size === 0 && after.size === 0) return;
    if (added.length > 0 && Object.keys(counts).length > this.maxSymbolsPerUser) {
      throw new LimitError(
        "symbols_per_user",
        `at most ${this.maxSymbolsPerUser} distinct symbols per user across watchlists and rules`,
      );
    }
    op.check(symE).set(symKey, counts);
    // Symbols that appear for this user for the first time, or leave them: the per-symbol user counts.
    const global = [...touched].filter((s) => !this.#always.has(s));
    if (global.length === 0) return;
    const entries = await this.#getAll(global.map((s) => keys.symbolUsers(s)));
    let trackedDelta = 0;
    global.forEach((s, i) => {
      const e = entries[i]!;
      const users = (e.value as number | null) ?? 0;
      const next = counts[s] === undefined ? Math.max(0, users - 1) : users + 1;
      if (users === 0 && next > 0) trackedDelta++;
      if (users > 0 && next === 0) trackedDelta--;
      op.check(e);
      if (next === 0) op.delete(e.key);
      else op.set(e.key, next);
    });
    if (trackedDelta === 0) return;
    const totalE = await this.kv.get<number>(keys.trackedSymbols());
    const total = Math.max(0, (totalE.value ?? 0) + trackedDelta);
    if (trackedDelta > 0 && total + this.#always.size > this.maxTrackedSymbols) {
      throw new LimitError(
        "tracked_symbols",
        `this server tracks at most ${this.maxTrackedSymbols} symbols and has no room for ${trackedDelta} more`,
      );
    }
    op.check(totalE).set(keys.trackedSymbols(), total);
  }

  /** Symbols tracked because of users (beyond the always-tracked ones), as the global counter holds them. */
  async trackedByUsers(): Promise<number> {
    return (await this.kv.get<number>(keys.trackedSymbols())).value ?? 0;
  }

  async #getAll(list: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<unknown>[]> {
    const out: Deno.KvEntryMaybe<unknown>[] = [];
    for (let i = 0; i < list.length; i += 10) out.push(...await this.kv.getMany(list.slice(i, i + 10))); // getMany takes 10
    return out;
  }

  async #countExisting(collection: Collection, userId: string): Promise<number> {
    let n = 0;
    for await (const _ of this.kv.list({ prefix: INDEX_PREFIX[collection](userId) })) n++;
    return n;
  }
}

/** Tries a write gets while the KV file is locked by another process, backing off from 10 ms to 1 s (about 3 s). */
export const BUSY_ATTEMPTS = 8;

/**
 * Builds an atomic operation with `build` and commits it, building it again on a fresh operation after a lost race
 * (another write's versionstamp check), up to `attempts` times; then throws {@link WriteConflictError} naming `what`.
 * A KV whose file another process holds locked ({@link isKvBusy}) is waited out the same way, with backoff, up to
 * {@link BUSY_ATTEMPTS} times; then {@link KvBusyError}.
 *
 * @param build reads what it needs and adds checks and writes to `op`; it may throw (e.g. {@link LimitError})
 * @returns the commit result
 * @example
 * ```ts
 * await commitRetrying(kv, async (op) => void op.check(await kv.get(k)).set(k, v), "setting");
 * ```
 */
export async function commitRetrying(
  kv: Deno.Kv,
  build: (op: Deno.AtomicOperation) => Promise<void>,
  what: string,
  attempts = 100,
): Promise<Deno.KvCommitResult> {
  let busy = 0;
  let races = 0;
  while (races < attempts) {
    const op = kv.atomic();
    let res: Deno.KvCommitResult | Deno.KvCommitError;
    try {
      await build(op);
      res = await op.commit();
    } catch (err) {
      // A lock is not a lost race: it counts against its own tries.
      if (!isKvBusy(err)) throw err;
      if (++busy >= BUSY_ATTEMPTS) {
        throw new KvBusyError(`${what} could not be saved: storage is busy; try again shortly`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, backoffDelay(busy - 1, 10, 1_000)));
      continue;
    }
    if (res.ok) return res;
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 + races++ * 2)));
  }
  throw new WriteConflictError(`${what} was changed at the same time too often; try again`);
}
