/**
 * The web role: pages, REST and the WebSocket hub. Live quotes and alerts come over the broker from whichever
 * instance owns a symbol; history comes from the store. No feed, no actors, no writer, no chDB here.
 */
import type { Hono } from "hono";
import { keys } from "../actors/keys.ts";
import type { ActorSnapshot } from "../actors/symbol_actor.ts";
import type { Quote } from "../schema/quote.ts";
import { RollingWindow } from "../actors/window.ts";
import { requestLatest } from "../broker/latest.ts";
import { createYahooRest } from "../feeds/yahoo_rest.ts";
import { SymbolSearch } from "../routes/api/search.ts";
import { HistoryCache } from "../routes/api/history_cache.ts";
import { HistoryOnDemand } from "../routes/api/history_on_demand.ts";
import type { AppDeps } from "../routes/app.ts";
import { politeFetch } from "../jobs/polite_fetch.ts";
import { historyProvider } from "../jobs/providers.ts";
import { createApp } from "../routes/app.ts";
import { Hub } from "../routes/ws.ts";
import type { FeedStatus } from "../schema/health.ts";
import { WINDOW_MS, WINDOWS } from "../schema/rule.ts";
import type { Books } from "./books.ts";
import type { Notify } from "./notify.ts";
import type { RoleDeps } from "./process.ts";

/** What the web role is built from: the process's parts, the books, and notifications. */
export interface WebDeps extends RoleDeps {
  books: Books;
  notify: Notify;
  /** Symbols known besides the tracked ones (search suggestions). */
  known?: () => string[];
  /** The live feed, when this process runs one too (ROLE=all). */
  feed?: () => FeedStatus;
  /** Operator actions of a process that runs ingest too (ROLE=all). */
  admin?: AppDeps["admin"];
}

/** The web role's app and hub. */
export interface Web {
  app: Hono;
  hub: Hub;
  /** Closes every WebSocket (1001). */
  close(): void;
}

/**
 * Builds the web role on `deps`.
 *
 * @example
 * ```ts
 * const web = createWeb({ config, kv, store, broker, subjects: subjects("live"), books, notify });
 * Deno.serve(web.app.fetch);
 * ```
 */
export function createWeb(d: WebDeps): Web {
  const { config, kv, broker, subjects } = d;
  // Concurrent asks for one symbol (a burst of clients subscribing) share one request to its owner.
  const asking = new Map<string, ReturnType<typeof requestLatest>>();
  const latest = (symbol: string) => {
    let p = asking.get(symbol);
    if (!p) {
      p = requestLatest(broker, subjects, symbol).finally(() => asking.delete(symbol));
      asking.set(symbol, p);
    }
    return p;
  };
  const quotes = async (symbols: readonly string[]): Promise<Quote[]> =>
    (await Promise.all(symbols.map(latest))).flatMap((s) => s ? [s.quote] : []);
  const hub = new Hub({
    maxClients: config.ws.maxClients,
    maxClientsPerAddress: config.ws.maxClientsPerIp,
    flushMs: config.ws.flushMs,
    broker,
    subjects,
    quotes,
  });
  const cache = new HistoryCache();
  const offHistory = broker.subscribe(subjects.history, (json) => {
    try {
      const m = JSON.parse(json) as { symbol: string; from: number };
      cache.invalidate(String(m.symbol), Number(m.from) || 0);
    } catch {
      // not a notice this version understands
    }
  });
  // Demo and replayed data have no provider behind them: only live data fetches history on demand.
  const onDemand = config.namespace === "live"
    ? new HistoryOnDemand({
      store: d.store,
      provider: historyProvider(config, politeFetch()),
      onWrite: (symbol, from) => {
        // Here at once; other instances through the bus, as for any candle write.
        cache.invalidate(symbol, from);
        broker.publish(subjects.history, JSON.stringify({ symbol, from }));
      },
      log: d.log,
    })
    : undefined;
  const app = createApp({
    store: d.store,
    kv,
    quotas: d.books.quotas,
    role: config.role,
    trustProxy: config.trustProxy,
    wsAllowedOrigins: config.ws.allowedOrigins,
    ...(d.feed ? { feed: d.feed } : {}),
    bus: () => broker.status(),
    metrics: d.metrics,
    ...(d.admin ? { admin: d.admin } : {}),
    rules: d.books.rules,
    hub,
    watchlists: d.books.watchlists,
    search: new SymbolSearch({
      yahoo: createYahooRest({
        ...(config.yahoo.apiBase ? { apiBase: config.yahoo.apiBase } : {}),
        timeoutMs: 3_000,
        log: (level, msg) => d.log(level, "yahoo-finance2", { msg }),
      }),
      known: () => [...d.books.tracked(), ...(d.known?.() ?? [])],
      log: (msg, fields) => d.log("warn", msg, fields),
    }),
    notify: d.notify,
    pages: {
      defaultSymbols: config.symbols,
      tracked: d.books.tracked,
      quotes,
      ...(d.feed ? { feed: { name: config.feed, status: d.feed } } : {}),
    },
    market: {
      async stock(symbol) {
        const live = await latest(symbol);
        if (live) return { quote: live.quote, windows: live.windows, stale: false, asOf: live.asOf };
        // No owner answered (none yet, between owners, or the bus is down): its last snapshot, marked stale.
        const snap = (await kv.get<ActorSnapshot>(keys.actor(config.namespace, symbol))).value;
        if (!snap?.quote) return undefined;
        const windows = Object.fromEntries(
          WINDOWS.map((w) => [w, RollingWindow.restore(WINDOW_MS[w], snap.windows[w]).stats()]),
        );
        return { quote: snap.quote, windows, stale: true, asOf: snap.savedAt };
      },
      async openCandle(symbol) {
        return (await latest(symbol))?.openCandle ?? undefined;
      },
      cache,
      ...(onDemand ? { onDemand } : {}),
    },
  });
  d.metrics
    .gauge("breadboard_ws_clients", "Open WebSocket clients", () => hub.stats().clients)
    .counterFrom("breadboard_ws_frames_sent_total", "Frames sent to WebSocket clients", () => hub.stats().framesSent)
    .counterFrom(
      "breadboard_ws_ticks_conflated_total",
      "Tick frames replaced by a newer one for a slow client",
      () => hub.stats().ticksConflated,
    )
    .counterFrom(
      "breadboard_ws_slow_disconnects_total",
      "Clients disconnected for staying behind",
      () => hub.stats().slowDisconnects,
    )
    .gauge("breadboard_ws_clients_behind", "Clients with frames held back", () => hub.stats().heldBack)
    .gauge(
      "breadboard_ws_flush_interval_seconds",
      "Least time between two batch frames to a client now (longer than WS_FLUSH_MS while flushes take long)",
      () => hub.stats().flushIntervalMs / 1000,
    )
    .gauge("breadboard_bus_up", "1 while the bus between instances is connected", () => broker.status().ok ? 1 : 0)
    .counterFrom("breadboard_history_cache_total", "History requests by cache outcome", () => {
      const { hits, misses, shared } = cache.stats();
      return { hit: hits, miss: misses, shared };
    }, "outcome");
  return {
    app,
    hub,
    close: () => {
      offHistory();
      hub.close();
    },
  };
}
