import type { VNode } from "preact";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { RuleBook } from "../../actors/rule_book.ts";
import type { WatchlistBook } from "../../actors/watchlist_book.ts";
import { Island } from "../../components/Island.tsx";
import { Layout } from "../../components/Layout.tsx";
import Alerts, { type AlertRow, type RuleRow } from "../../islands/Alerts.tsx";
import History from "../../islands/History.tsx";
import Monitor from "../../islands/Monitor.tsx";
import Settings from "../../islands/Settings.tsx";
import type { LiveQuote } from "../../islands/lib/live.ts";
import type { NotificationDeps } from "../api/notifications.ts";
import { channelView } from "../api/notifications.ts";
import type { IdentityVars } from "../identity.ts";
import type { FeedStatus } from "../../schema/health.ts";
import { renderPage } from "./render.ts";
import { type Interval, INTERVALS } from "../../schema/intervals.ts";
import type { Store } from "../../store/store.ts";
import { listAlerts } from "../../store/queries/alerts.ts";
import { listJobRuns } from "../../store/queries/job_runs.ts";

/** What the pages read. */
export interface PageDeps {
  /** Symbols a user without a watchlist sees (SYMBOLS). */
  defaultSymbols: string[];
  /** Every symbol tracked now, for pickers. */
  tracked: () => string[];
  /** Latest quotes of `symbols` that exist. */
  quotes: (symbols: string[]) => Promise<LiveQuote[]>;
  rules?: RuleBook;
  watchlists?: WatchlistBook;
  notify?: NotificationDeps;
  /** Where the Alerts page reads the alert history and the History page the last scheduled fetch. */
  store: Store;
  /** The feed this process runs, by name (FEED) and state, for the Monitor's banner. */
  feed?: { name: string; status: () => FeedStatus };
}

/** A page whose store read failed still renders, without that part; the failure goes to the log. */
const storeDown = (c: Context) => (err: unknown): undefined => {
  console.error(
    JSON.stringify({ level: "error", msg: "page store read failed", path: c.req.path, error: String(err) }),
  );
  return undefined;
};

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The four server-rendered pages. Each is complete HTML with real data in it (quotes, rules, alerts, channels), then
 * its one island hydrates. A missing build answers 503 with the command that fixes it.
 */
/** Each page's meta description: what a search result or a shared link says about it. */
const DESCRIPTIONS = {
  Monitor: "Live stock prices second by second: your watchlist's quotes, day range, session and a live chart.",
  History: "Years of daily and minute candles for any symbol, with volume, SMA, EMA, RSI and MACD, in exchange time.",
  Alerts: "Price, move, volume and anomaly alerts on screen, by email, webhook and push, with their history.",
  Settings: "Your watchlist, theme, time zone, notification channels and API tokens.",
} as const;

export function pageRoutes(deps: PageDeps, who: MiddlewareHandler<{ Variables: IdentityVars }>) {
  const theme = (c: Context) => getCookie(c, "bb_theme") === "light" ? "light" as const : "dark" as const;
  const page = async (c: Context, title: keyof typeof DESCRIPTIONS, active: string, body: VNode) => {
    // A missing build throws NotBuiltError, which the app's onError answers with 503 and the command to run.
    const html = await renderPage({
      title,
      description: DESCRIPTIONS[title],
      theme: theme(c),
      body: <Layout active={active}>{body}</Layout>,
    });
    return c.html(html, 200, { "Cache-Control": "no-store" });
  };
  const watchlistOf = (userId: string) => deps.watchlists?.listForUser(userId)[0] ?? null;
  const symbolsOf = (userId: string) => {
    const w = watchlistOf(userId);
    return w && w.symbols.length > 0 ? w.symbols : deps.defaultSymbols;
  };
  // Every page acts for its visitor: the identity middleware runs on each (and issues the cookie on a first visit).
  return new Hono<{ Variables: IdentityVars }>()
    .get("/", who, async (c) => {
      const symbols = symbolsOf(c.get("userId"));
      const f = deps.feed;
      const props = {
        symbols,
        quotes: await deps.quotes(symbols),
        ...(f ? { feed: { name: f.name, ...f.status() } } : {}),
      };
      return page(c, "Monitor", "/", <Island component={Monitor} props={props} />);
    })
    .get("/history", who, async (c) => {
      const symbols = symbolsOf(c.get("userId"));
      // The last scheduled history fetch: a failure shows above the chart, with its reason.
      const run = (await listJobRuns(deps.store, { job: "ohlcv_fetch", limit: 1 }).catch(storeDown(c)))?.[0];
      const findings = run?.findings as { errors?: { examples?: { symbol?: string; message?: string }[] } } | null;
      const reason = findings?.errors?.examples?.[0];
      const lastFetch = run && (run.status === "failed" || run.status === "partial")
        ? {
          status: String(run.status),
          at: Number(run.finishedAt ?? run.startedAt),
          ...(reason ? { reason: `${reason.symbol}: ${reason.message}` } : {}),
        }
        : undefined;
      const q = c.req.query();
      const now = Date.now();
      const interval = (INTERVALS as readonly string[]).includes(q.interval ?? "") ? q.interval as Interval : "1d";
      // A default range that fits the interval's 20,000-candle limit and shows a useful span.
      const span = { "1m": 4, "5m": 9, "15m": 19, "1h": 59, "1d": 365 }[interval]! * 86_400_000;
      const props = {
        symbols: [...new Set([...symbols, ...deps.tracked()])].sort(),
        symbol: /^[A-Za-z0-9.^=-]{1,20}$/.test(q.symbol ?? "") ? q.symbol!.toUpperCase() : symbols[0] ?? "AAPL",
        interval,
        from: DATE.test(q.from ?? "") ? q.from! : ymd(now - span),
        to: DATE.test(q.to ?? "") ? q.to! : ymd(now),
        ...(lastFetch ? { lastFetch } : {}),
        ...(deps.feed?.name === "synthetic" ? { demo: true } : {}),
      };
      return page(c, "History", "/history", <Island component={History} props={props} />);
    })
    .get("/alerts", who, async (c) => {
      const userId = c.get("userId");
      const alerts: AlertRow[] = (await listAlerts(deps.store, { userId, limit: 50 }).catch(storeDown(c)))?.alerts ??
        [];
      const props = {
        symbols: [...new Set([...symbolsOf(userId), ...deps.tracked()])].sort(),
        rules: (deps.rules?.listForUser(userId) ?? []) as RuleRow[],
        alerts,
      };
      return page(c, "Alerts", "/alerts", <Island component={Alerts} props={props} />);
    })
    .get("/settings", who, async (c) => {
      const userId = c.get("userId");
      const w = watchlistOf(userId);
      const n = deps.notify;
      const props = {
        watchlist: w ? { id: w.id, name: w.name, symbols: w.symbols } : null,
        defaultSymbols: deps.defaultSymbols,
        channels: n ? (await n.channels.list(userId)).map((ch) => channelView(ch)) as never : [],
        available: n?.available ?? { webhook: false, email: false, push: false, nats: false },
        vapidPublicKey: n?.vapidPublicKey ?? "",
        theme: theme(c),
      };
      return page(c, "Settings", "/settings", <Island component={Settings} props={props} />);
    });
}
