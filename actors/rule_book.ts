import { type Rule, type RuleInput, ruleSchema } from "../schema/rule.ts";
import { keys } from "./keys.ts";
import { followVersion } from "./kv_versioned.ts";
import { Resync, type ResyncReport } from "./resync.ts";
import { Quotas } from "./user_quota.ts";
import { UserRecords } from "./user_records.ts";

/** The last save stamp this process gave (see {@link RuleBook.put}). */
let stamp = 0;

/**
 * Alert rules in Deno KV, with an in-memory copy grouped by symbol for the actors.
 *
 * Each rule is written with its symbol and user index keys in one atomic operation that also bumps a version key;
 * every process watches that key and reloads, so a rule saved through any process reaches the actor that owns the
 * symbol. The built-in day-change rule (ALERT_THRESHOLD) applies to every symbol and is not stored.
 *
 * @example
 * ```ts
 * const book = await RuleBook.open(kv);
 * await book.put({ id: "r_1", userId, symbol: "AAPL", kind: "price_above", price: 250 });
 * book.forSymbol("AAPL"); // [the rule]
 * book.close();
 * ```
 */
export class RuleBook {
  #bySymbol = new Map<string, Rule[]>();
  #byId = new Map<string, Rule>();
  #defaults: Rule[] = [];
  /** The built-in rules for symbols without stored rules, built once per symbol. */
  #defaultFor = new Map<string, Rule[]>();
  #unfollow: (() => void) | undefined;
  /** Re-reads after a change; failures are logged, counted and retried. */
  #sync: Resync | undefined;
  /** Told after each write this process commits (the change notice other instances reload on). */
  readonly #written = new Set<() => void>();
  #listeners = new Set<() => void>();

  readonly #records: UserRecords<Rule>;

  private constructor(private readonly kv: Deno.Kv, quotas: Quotas) {
    this.#records = new UserRecords(kv, quotas, {
      collection: "rules",
      what: "rule",
      key: keys.rule,
      indexes: (r) => [[keys.ruleBySymbol(r.symbol, r.id), r.id], [keys.ruleByUser(r.userId, r.id), r.id]],
      owner: (r) => r.userId,
      symbols: (r) => [r.symbol],
      version: keys.rulesVersion(),
      read: (v) => {
        const r = ruleSchema.safeParse(v);
        return r.success ? r.data : undefined;
      },
    });
  }

  /**
   * Loads every rule and starts following changes. `alertThreshold` makes the built-in rule (none when undefined);
   * `quotas` caps rules per user and the symbols they add (default budgets when not given).
   */
  static async open(
    kv: Deno.Kv,
    alertThreshold?: number,
    quotas: Quotas = new Quotas(kv),
    report: ResyncReport = {},
  ): Promise<RuleBook> {
    const book = new RuleBook(kv, quotas);
    if (alertThreshold !== undefined) {
      book.#defaults = [ruleSchema.parse({
        id: "default-day-change",
        symbol: "X",
        kind: "day_change",
        percent: alertThreshold,
        cooldownMs: 3_600_000,
      })];
    }
    await book.reload();
    // Changes come in bursts (an import, a user editing many rules): one reload per burst.
    const sync = book.#sync = new Resync("rules", () => book.reload(), report);
    book.#unfollow = followVersion(kv, keys.rulesVersion(), () => sync.request(), 50, report.log);
    return book;
  }

  /** Re-reads all rules from KV. */
  async reload(): Promise<void> {
    const byId = new Map<string, Rule>();
    for await (const e of this.kv.list<unknown>({ prefix: keys.rulePrefix() })) {
      const parsed = ruleSchema.safeParse(e.value);
      if (!parsed.success) continue; // a rule written by a newer version; never crash the actors over it
      byId.set(parsed.data.id, parsed.data);
    }
    this.#byId = byId;
    this.#index();
  }

  /** Rebuilds the per-symbol lists (built-in rule first) from the rules by id. */
  #index(): void {
    this.#bySymbol = new Map();
    for (const r of this.#byId.values()) this.#listFor(r.symbol).push(r);
    this.#defaultFor.clear();
    for (const l of this.#listeners) l();
  }

  /** The evaluated rules of `symbol` (built-in first), created when the symbol gets its first stored rule. */
  #listFor(symbol: string): Rule[] {
    let list = this.#bySymbol.get(symbol);
    if (!list) this.#bySymbol.set(symbol, list = this.#defaults.map((d) => ({ ...d, symbol })));
    return list;
  }

  /** Takes rule `id` out of the in-memory copy. */
  #unindex(id: string): void {
    const old = this.#byId.get(id);
    if (!old) return;
    this.#byId.delete(id);
    const list = this.#bySymbol.get(old.symbol);
    const at = list?.findIndex((r) => r.id === id) ?? -1;
    if (list && at >= 0) list.splice(at, 1);
  }

  /** Called after every reload. */
  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }

  /** Rules evaluated for `symbol`: the built-in rule first, then the stored ones. */
  forSymbol(symbol: string): readonly Rule[] {
    const own = this.#bySymbol.get(symbol);
    if (own) return own;
    if (this.#defaults.length === 0) return [];
    let d = this.#defaultFor.get(symbol);
    if (!d) this.#defaultFor.set(symbol, d = this.#defaults.map((r) => ({ ...r, symbol })));
    return d;
  }

  get(id: string): Rule | undefined {
    return this.#byId.get(id);
  }

  /** Every symbol a stored rule watches. */
  symbols(): Set<string> {
    return new Set([...this.#byId.values()].map((r) => r.symbol));
  }

  /** Every stored rule of `userId`. */
  listForUser(userId: string): Rule[] {
    return [...this.#byId.values()].filter((r) => r.userId === userId);
  }

  /**
   * Validates and saves a rule (insert or replace); throws the zod error for bad input and
   * {@link LimitError} past the user's rule cap or symbol budget.
   */
  async put(input: RuleInput): Promise<Rule> {
    // Every save is stamped, so the actor can tell a spent once-only rule enabled again from the one it spent, even
    // when its settings came back to what they were.
    stamp = Math.max(Date.now(), stamp + 1);
    const rule = ruleSchema.parse({ ...input, updatedAt: stamp });
    await this.#records.put(rule.id, () => rule);
    this.#unindex(rule.id);
    this.#byId.set(rule.id, rule);
    this.#listFor(rule.symbol).push(rule);
    for (const l of this.#listeners) l();
    this.#wrote();
    return rule;
  }

  /** Deletes a rule; false when there was none. */
  async delete(id: string): Promise<boolean> {
    if (!await this.#records.delete(id)) return false;
    this.#unindex(id);
    for (const l of this.#listeners) l();
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
