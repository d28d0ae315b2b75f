import { type Watchlist, type WatchlistInput, watchlistInputSchema, watchlistSchema } from "../schema/watchlist.ts";
import { keys } from "./keys.ts";
import { followVersion } from "./kv_versioned.ts";
import { Resync, type ResyncReport } from "./resync.ts";
import { Quotas } from "./user_quota.ts";
import { UserRecords } from "./user_records.ts";

/**
 * Users' watchlists in Deno KV, with an in-memory copy of all of them so the set of tracked symbols (every symbol on
 * any watchlist) is known without a scan.
 *
 * A watchlist and its user index key are written in one atomic operation that bumps a version key; every process
 * follows that key and reloads, so a symbol added through one process starts being tracked by whichever owns it.
 *
 * @example
 * ```ts
 * const book = await WatchlistBook.open(kv);
 * await book.put(userId, "w_1", { name: "Tech", symbols: ["AAPL", "MSFT"] });
 * book.symbols(); // Set { "AAPL", "MSFT" }
 * book.close();
 * ```
 */
export class WatchlistBook {
  #byId = new Map<string, Watchlist>();
  #listeners = new Set<() => void>();
  #unfollow: (() => void) | undefined;
  /** Re-reads after a change; failures are logged, counted and retried. */
  #sync: Resync | undefined;
  /** Told after each write this process commits (the change notice other instances reload on). */
  readonly #written = new Set<() => void>();

  readonly #records: UserRecords<Watchlist>;

  private constructor(
    private readonly kv: Deno.Kv,
    private readonly now: () => number,
    quotas: Quotas,
  ) {
    this.#records = new UserRecords(kv, quotas, {
      collection: "watchlists",
      what: "watchlist",
      key: keys.watchlist,
      indexes: (w) => [[keys.watchlistByUser(w.userId, w.id), w.id]],
      owner: (w) => w.userId,
      symbols: (w) => w.symbols,
      version: keys.watchlistsVersion(),
    });
  }

  /**
   * Loads every watchlist and starts following changes made by other processes. `quotas` caps watchlists per user
   * and the symbols they add (default budgets when not given).
   */
  static async open(
    kv: Deno.Kv,
    now: () => number = Date.now,
    quotas: Quotas = new Quotas(kv),
    report: ResyncReport = {},
  ): Promise<WatchlistBook> {
    const book = new WatchlistBook(kv, now, quotas);
    await book.reload();
    const sync = book.#sync = new Resync("watchlists", () => book.reload(), report);
    book.#unfollow = followVersion(kv, keys.watchlistsVersion(), () => sync.request(), 50, report.log);
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
   * input, {@link LimitError} past the user's watchlist cap or a symbol budget, and {@link WriteConflictError} when
   * other writes kept winning the race.
   */
  async put(userId: string, id: string, input: WatchlistInput): Promise<Watchlist> {
    const body = watchlistInputSchema.parse(input);
    const list = await this.#records.put(id, (old) => {
      const now = this.now();
      return { id, userId, name: body.name, symbols: body.symbols, createdAt: old?.createdAt ?? now, updatedAt: now };
    });
    this.#byId.set(id, list);
    this.#changed();
    this.#wrote();
    return list;
  }

  /** Deletes a watchlist; false when there was none. */
  async delete(id: string): Promise<boolean> {
    if (!await this.#records.delete(id)) return false;
    this.#byId.delete(id);
    this.#changed();
    this.#wrote();
    return true;
  }

  /**
   * Calls `fn` after each put or delete this process commits. KV on a local file does not notify other processes,
   * so a multi-instance product forwards these as change notices on the broker.
   */
  onWrite(fn: () => void): void {
    this.#written.add(fn);
  }

  #wrote(): void {
    for (const fn of this.#written) fn();
  }

  /**
   * Re-reads the book because another instance announced a change; a failure is logged, counted and retried until
   * a re-read succeeds.
   */
  resync(): void {
    this.#sync?.request();
  }

  close(): void {
    this.#sync?.close();
    this.#unfollow?.();
  }
}
