import { RuleBook } from "../actors/rule_book.ts";
import { Quotas } from "../actors/user_quota.ts";
import { WatchlistBook } from "../actors/watchlist_book.ts";
import type { Broker, Subjects } from "../broker/broker.ts";
import type { Config } from "../schema/env.ts";
import type { Logger } from "./process.ts";

/** The user-owned collections every role reads: rules, watchlists and the budgets they share. */
export interface Books {
  quotas: Quotas;
  rules: RuleBook;
  watchlists: WatchlistBook;
  /** Always-tracked symbols (SYMBOLS), every watchlist's symbols, and every symbol a rule watches. */
  tracked(): string[];
  /** Stops following changes. */
  close(): void;
}

const COLLECTIONS = ["rules", "watchlists"] as const;

/**
 * Opens the rule and watchlist books on `kv`. With NATS, each write is announced on the changes subject and every
 * instance reloads the named collection when it hears one, since KV on a local file does not notify other processes
 * (`kv.watch` still covers this process, and KV Connect). A failed reload is logged and retried, never dropped.
 *
 * @example
 * ```ts
 * const books = await openBooks(kv, config, broker, subjects("live"), log);
 * books.rules.forSymbol("AAPL");
 * ```
 */
export async function openBooks(
  kv: Deno.Kv,
  config: Config,
  broker: Broker,
  subjects: Subjects,
  log: Logger,
): Promise<Books> {
  const quotas = new Quotas(kv, {
    maxSymbolsPerUser: config.limits.maxSymbolsPerUser,
    maxTrackedSymbols: config.limits.maxTrackedSymbols,
    alwaysTracked: config.symbols,
  });
  const rules = await RuleBook.open(kv, config.alertThreshold, quotas);
  const watchlists = await WatchlistBook.open(kv, Date.now, quotas);
  let off = () => {};
  if (config.natsUrl !== undefined) {
    const book = { rules, watchlists };
    for (const c of COLLECTIONS) {
      book[c].onWrite(() => broker.publish(subjects.changes, JSON.stringify({ collection: c })));
    }
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const reload = (c: (typeof COLLECTIONS)[number], attempt: number) => {
      book[c].reload().catch((err) => {
        log("warn", "reload after a change notice failed; retrying", { collection: c, attempt, error: String(err) });
        const t = setTimeout(() => {
          timers.delete(t);
          reload(c, attempt + 1);
        }, Math.min(30_000, 250 * 2 ** attempt));
        timers.add(t);
      });
    };
    const unsubscribe = broker.subscribe(subjects.changes, (json) => {
      let c: unknown;
      try {
        c = JSON.parse(json).collection;
      } catch {
        return;
      }
      if (c === "rules" || c === "watchlists") reload(c, 0);
    });
    off = () => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
    };
  }
  return {
    quotas,
    rules,
    watchlists,
    tracked: () => [...new Set([...config.symbols, ...watchlists.symbols(), ...rules.symbols()])],
    close() {
      off();
      rules.close();
      watchlists.close();
    },
  };
}
