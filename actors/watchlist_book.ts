import { type Watchlist, type WatchlistInput, watchlistInputSchema, watchlistSchema } from "../schema/watchlist.ts";
import { keys } from "./keys.ts";
import { followVersion, WriteConflictError } from "./kv_versioned.ts";

/**
 * Users' watchlists in Deno KV, with an in-memory copy of all of them so the set of tracked symbols (every symbol on
 * any watchlist) is known without a scan.
 *
 * A watchlist and its user index key are written in one atomic operation that bumps a version key; every process
 * follows that key and reloads, so a symbol added through one process starts being tracked by whichever owns it.
 */
export class WatchlistBook {
  #byId = new Map<string, Watchlist>();
  #listeners = new Set<() => void>();
  #unfollow: (() => void) | undefined;

  private constructor(private readonly kv: Deno.Kv, private readonly now: () => number) {}

  /** Loads every watchlist and starts following changes made by other processes. */
  static async open(kv: Deno.Kv, now: () => number = Date.now): Promise<WatchlistBook> {
    const book = new WatchlistBook(kv, now);
    await book.reload();
    book.#unfollow = followVersion(kv, keys.watchlistsVersion(), () => void book.reload().catch(() => {}));
    return book;
  }

  /** Re-reads all watchlists from KV and tells the listeners. */
  async reload(): Promise<void> {
    const byId = new Map<string, Watchlist>();
    for await (const e of this.kv.list<unknown>({ prefix: keys.watchlistPrefix() })) {
      const parsed = watchlistSchema.safeParse(e.value);
      if (parsed.success) byId.set(parsed.data.id, parsed.data);
    }
    this.#byId = byId;
    this.#changed();
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  /** Called after every change, local or from another process. */
  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }

  /** Every symbol on any user's watchlist. */
  symbols(): Set<string> {
    const out = new Set<string>();
    for (const w of this.#byId.values()) for (const s of w.symbols) out.add(s);
    return out;
  }

  get(id: string): Watchlist | undefined {
    return this.#byId.get(id);
  }

  /** The watchlists of `userId`, oldest first. */
  listForUser(userId: string): Watchlist[] {
    return [...this.#byId.values()].filter((w) => w.userId === userId).sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Validates and saves watchlist `id` of `userId`, created when it does not exist; throws the zod error for bad
   * input and {@link WriteConflictError} when another write to it won the race.
   */
  async put(userId: string, id: string, input: WatchlistInput): Promise<Watchlist> {
    const body = watchlistInputSchema.parse(input);
    const key = keys.watchlist(id);
    const old = await this.kv.get<Watchlist>(key);
    const now = this.now();
    const list: Watchlist = {
      id,
      userId,
      name: body.name,
      symbols: body.symbols,
      createdAt: old.value?.createdAt ?? now,
      updatedAt: now,
    };
    const res = await this.kv.atomic().check(old).set(key, list)
      .set(keys.watchlistByUser(userId, id), id)
      .sum(keys.watchlistsVersion(), 1n)
      .commit();
    if (!res.ok) throw new WriteConflictError(`watchlist ${id} was changed at the same time; try again`);
    this.#byId.set(id, list);
    this.#changed();
    return list;
  }

  /** Deletes a watchlist; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const key = keys.watchlist(id);
    const old = await this.kv.get<Watchlist>(key);
    if (!old.value) return false;
    const res = await this.kv.atomic().check(old).delete(key)
      .delete(keys.watchlistByUser(old.value.userId, id))
      .sum(keys.watchlistsVersion(), 1n)
      .commit();
    if (!res.ok) throw new WriteConflictError(`watchlist ${id} was changed at the same time; try again`);
    this.#byId.delete(id);
    this.#changed();
    return true;
  }

  close(): void {
    this.#unfollow?.();
  }
}
