import { type Collection, commitRetrying, type Quotas } from "./user_quota.ts";

/** How one user-owned collection (rules, watchlists, channels, tokens) lays out its records in KV. */
export interface RecordLayout<T, K> {
  /** The per-user cap the records count against. */
  collection: Collection;
  /** Names the record in a conflict error ("rule", "watchlist", ...). */
  what: string;
  /** The record's main key. */
  key(id: K): Deno.KvKey;
  /** The index entries record `id` is found by (key and value), written and removed with it. */
  indexes(record: T, id: K): [Deno.KvKey, unknown][];
  /** The user whose counter and symbol budget the record counts against. */
  owner(record: T): string;
  /** Symbols the record holds against its user's symbol budget (none when not given). */
  symbols?(record: T): readonly string[];
  /** A counter bumped by every change, which other instances watch to re-read the collection. */
  version?: Deno.KvKey;
  /** The stored value as a record; undefined for one that no longer parses (its main key is still removed). */
  read?(value: unknown): T | undefined;
}

const sameKey = (a: Deno.KvKey, b: Deno.KvKey) => a.length === b.length && a.every((p, i) => p === b[i]);

/**
 * The one way user-owned records are written: the main key, its index keys, the collection's change counter and the
 * user's counter and symbol budget ({@link Quotas.stage}) go in one atomic operation, checked against the versions
 * read, and built again when another write won the race. A write past a limit throws `LimitError` and writes
 * nothing; so the counters never drift from the records.
 *
 * @example
 * ```ts
 * const rules = new UserRecords<Rule, string>(kv, quotas, {
 *   collection: "rules",
 *   what: "rule",
 *   key: (id) => ["rule", id],
 *   indexes: (r) => [[["rule_by_user", r.userId, r.id], r.id]],
 *   owner: (r) => r.userId,
 *   symbols: (r) => [r.symbol],
 * });
 * await rules.put(rule.id, () => rule);
 * await rules.delete(rule.id);
 * ```
 */
export class UserRecords<T, K = string> {
  constructor(
    private readonly kv: Deno.Kv,
    private readonly quotas: Quotas,
    private readonly layout: RecordLayout<T, K>,
  ) {}

  /**
   * Creates or replaces record `id` with what `build` makes of the stored one (undefined when there is none).
   *
   * @param id the record's identity
   * @param build the new record; called again on each retry, with the value read in that attempt
   * @returns the record written
   */
  async put(id: K, build: (old: T | undefined) => T | Promise<T>): Promise<T> {
    const l = this.layout;
    const key = l.key(id);
    let written: T | undefined;
    await commitRetrying(this.kv, async (op) => {
      const old = await this.kv.get(key);
      const prev = old.value === null ? undefined : this.#read(old.value);
      const record = await build(prev);
      op.check(old).set(key, record);
      const indexes = l.indexes(record, id);
      for (const [k, v] of indexes) op.set(k, v);
      if (prev) {
        for (const [k] of l.indexes(prev, id)) if (!indexes.some(([n]) => sameKey(n, k))) op.delete(k);
      }
      if (l.version) op.sum(l.version, 1n);
      await this.quotas.stage(op, l.owner(record), {
        collection: l.collection,
        delta: old.value === null ? 1 : 0,
        before: prev ? l.symbols?.(prev) ?? [] : [],
        after: l.symbols?.(record) ?? [],
      });
      written = record;
    }, `${l.what} ${String(id)}`);
    return written!;
  }

  /**
   * Deletes record `id` with its index keys, and gives its slot back to its user.
   *
   * @param id the record's identity
   * @param mayDelete when given, the record is deleted only if this accepts it (e.g. it belongs to the caller)
   * @returns false when there was none (or `mayDelete` refused it)
   */
  async delete(id: K, mayDelete?: (record: T) => boolean): Promise<boolean> {
    const l = this.layout;
    const key = l.key(id);
    let deleted = false;
    await commitRetrying(this.kv, async (op) => {
      deleted = false;
      const old = await this.kv.get(key);
      op.check(old);
      if (old.value === null) return;
      const prev = this.#read(old.value);
      if (prev && mayDelete && !mayDelete(prev)) return;
      op.delete(key);
      if (l.version) op.sum(l.version, 1n);
      deleted = true;
      if (!prev) return;
      for (const [k] of l.indexes(prev, id)) op.delete(k);
      await this.quotas.stage(op, l.owner(prev), {
        collection: l.collection,
        delta: -1,
        before: l.symbols?.(prev) ?? [],
      });
    }, `${l.what} ${String(id)}`);
    return deleted;
  }

  /**
   * Reads records by identity in getMany rounds (KV takes at most 10 keys per call), skipping any that are gone.
   *
   * @param ids the records' identities
   * @returns the records found, in the order asked
   */
  async getMany(ids: readonly K[]): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < ids.length; i += 10) {
      const got = await this.kv.getMany(ids.slice(i, i + 10).map((id) => this.layout.key(id)));
      for (const e of got) {
        const r = e.value === null ? undefined : this.#read(e.value);
        if (r) out.push(r);
      }
    }
    return out;
  }

  #read(value: unknown): T | undefined {
    return this.layout.read ? this.layout.read(value) : value as T;
  }
}
