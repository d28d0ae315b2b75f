import { RuleBook } from "../actors/rule_book.ts";
import { Quotas } from "../actors/user_quota.ts";
import { WatchlistBook } from "../actors/watchlist_book.ts";
import type { Broker, Subjects } from "../broker/broker.ts";
import type { Config } from "../schema/env.ts";
import type { MetricsRegistry } from "../schema/metrics.ts";
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
 * (`kv.watch` still covers this process, and KV Connect). A failed re-read is logged, counted
 * (`breadboard_book_resync_failures_total`) and retried, never dropped.
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
  metrics?: MetricsRegistry,
): Promise<Books> {
  const quotas = new Quotas(kv, {
    maxSymbolsPerUser: config.limits.maxSymbolsPerUser,
    maxTrackedSymbols: config.limits.maxTrackedSymbols,
    alwaysTracked: config.symbols,
  });
  const report = (c: (typeof COLLECTIONS)[number]) => ({
    log,
    failed: () => metrics?.inc("breadboard_book_resync_failures_total", { collection: c }),
  });
  metrics?.counter(
    "breadboard_book_resync_failures_total",
    "Failed re-reads of the rule or watchlist book after a change (each is retried)",
    ["collection"],
  );
  const rules = await RuleBook.open(kv, config.alertThreshold, quotas, report("rules"));
  const watchlists = await WatchlistBook.open(kv, Date.now, quotas, report("watchlists"));
  let off = () => {};
  if (config.natsUrl !== undefined) {
    const book = { rules, watchlists };
    for (const c of COLLECTIONS) {
      book[c].onWrite(() => broker.publish(subjects.changes, JSON.stringify({ collection: c })));
    }
    const unsubscribe = broker.subscribe(subjects.changes, (json) => {
      let c: unknown;
      try {
        c = JSON.parse(json).collection;
      } catch {
        return;
      }
      if (c === "rules" || c === "watchlists") book[c].resync();
    });
    off = unsubscribe;
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
