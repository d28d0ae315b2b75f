import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { alertListSchema, historySchema, stockSchema } from "../../schema/api.ts";
import type { Quote } from "../../schema/quote.ts";
import type { WindowStats } from "../../schema/quote.ts";
import { type Candle, INTERVALS } from "../../schema/candle.ts";
import { exchangeDay, exchangeDayRange } from "../../schema/exchange.ts";
import { symbolSchema } from "../../schema/symbol.ts";
import type { Store } from "../../store/store.ts";
import { listAlerts } from "../../store/queries/alerts.ts";
import { dailyCandles, minuteBuckets } from "../../store/queries/candles.ts";
import { ApiError } from "../errors.ts";
import { limitParam, MAX_EPOCH_MS, orderedRange, timeParam } from "./query.ts";
import { access, type ApiEnv, apiRouter, error, errors, json } from "./declare.ts";
import type { HistoryCache } from "./history_cache.ts";
import { historyBody } from "./history_body.ts";
import type { HistoryOnDemand, OnDemandResult } from "./history_on_demand.ts";

/** What the market routes read besides the store. */
export interface MarketDeps {
  store: Store;
  /**
   * Latest quote and windows of a symbol: from its owner (`stale: false`), or its last saved snapshot when the owner
   * does not answer (`stale: true`); `asOf` is when that state was read or saved. Undefined for one never seen.
   */
  stock: (symbol: string) => Promise<
    { quote: Quote; windows: Record<string, WindowStats | null>; stale: boolean; asOf: number } | undefined
  >;
  /** The live one-minute candle still open for a symbol, if any. */
  openCandle: (symbol: string) => Candle | undefined | Promise<Candle | undefined>;
  /** Stored candles by request, invalidated by candle writes (none: every request queries the store). */
  cache?: HistoryCache;
  /** Fetches a range the store lacks from the history provider (none: history answers what is stored). */
  onDemand?: HistoryOnDemand;
  /** The clock deciding which exchange day is today (default Date.now). */
  now?: () => number;
}

/** Most candles one history request returns. */
export const MAX_CANDLES = 20_000;
const INTERVAL_MS = { "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000 } as const;
const DAY_MS = 86_400_000;
/** The range GET /api/v1/history covers when `from` is not given: what a chart of that interval shows first. */
export const DEFAULT_SPAN_MS = {
  "1m": DAY_MS,
  "5m": 5 * DAY_MS,
  "15m": 10 * DAY_MS,
  "1h": 30 * DAY_MS,
  "1d": 365 * DAY_MS,
} as const;

const time = timeParam;

/** A decoded alerts cursor: the time and id of the last alert of the previous page. */
const cursorSchema = z.tuple([
  z.number().int().min(0).max(MAX_EPOCH_MS),
  z.string().regex(/^[A-Za-z0-9:_.-]{1,128}$/),
]);

/** Query of GET /api/v1/history. */
export const historyQuery = z.object({
  symbol: symbolSchema,
  from: time("from").optional(),
  to: time("to").optional(),
  interval: z.enum(INTERVALS, { error: `interval must be one of ${INTERVALS.join(", ")}` }).default("1m"),
}).transform((q) => {
  // Unset ends: up to now, over a span that fits the interval (a day of minutes, a year of days).
  const to = q.to ?? Date.now();
  return { ...q, to, from: q.from ?? Math.max(0, to - DEFAULT_SPAN_MS[q.interval]) };
}).superRefine((q, ctx) => {
  if (q.from >= q.to) ctx.addIssue({ code: "custom", path: ["from"], message: "from must be before to" });
  const n = Math.ceil((q.to - q.from) / INTERVAL_MS[q.interval]);
  if (n > MAX_CANDLES) {
    ctx.addIssue({
      code: "custom",
      path: ["to"],
      message:
        `the range holds up to ${n} ${q.interval} candles; at most ${MAX_CANDLES} per request (narrow it or use a coarser interval)`,
    });
  }
});

/** Query of GET /api/v1/alerts. */
export const alertsQuery = z.object({
  symbol: symbolSchema.optional(),
  rule: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, { error: "rule is a rule id" }).optional(),
  since: time("since").optional(),
  until: time("until").optional(),
  limit: limitParam(500, 100),
  cursor: z.string().max(200).optional(),
}).superRefine(orderedRange("since", "until"));

/**
 * /api/v1/stocks, /api/v1/history and /api/v1/alerts.
 *
 * @param deps the store and the live state the answers come from
 * @param who the identity middleware
 * @returns the router to mount at /api/v1
 */
export function marketRoutes(deps: MarketDeps, who: MiddlewareHandler<ApiEnv>) {
  const tags = ["market"];
  const read = access("user", who);
  return apiRouter()
    .openapi(
      createRoute({
        method: "get",
        path: "/stocks/{symbol}",
        tags,
        summary: "Latest quote and rolling windows of a symbol",
        ...read,
        request: { params: z.object({ symbol: symbolSchema }) },
        responses: { 200: json(stockSchema), ...errors({ params: true }) },
      }),
      async (c) => {
        const { symbol } = c.req.valid("param");
        const s = await deps.stock(symbol);
        if (!s) throw new ApiError(404, "not_found", `no quote for ${symbol}: it has never ticked here`);
        const q = s.quote;
        return c.json({
          symbol: q.symbol,
          price: q.price,
          time: q.time,
          change: q.change,
          changePercent: q.changePercent,
          dayVolume: q.dayVolume,
          open: q.open || q.price,
          dayHigh: q.dayHigh,
          dayLow: q.dayLow,
          previousClose: q.previousClose || null,
          marketHours: q.marketHours,
          exchange: q.exchange,
          source: q.source,
          windows: s.windows,
          stale: s.stale,
          asOf: s.asOf,
        }, 200);
      },
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/history",
        tags,
        summary: "OHLCV candles of a symbol over a range",
        ...read,
        request: { query: historyQuery },
        responses: {
          200: json(historySchema),
          304: { description: "the candles are those of the ETag sent in If-None-Match" },
          ...errors(),
          404: error("a symbol the history provider does not know"),
        },
      }),
      async (c) => {
        const q = c.req.valid("query");
        const read = () => q.interval === "1d" ? daily(deps, q) : intraday(deps, q);
        let { stored, candles } = await read();
        // History on demand: a range the store does not cover is fetched from the provider within the request.
        const extra: { fetched?: OnDemandResult; notice?: string } = {};
        const plan = deps.onDemand?.plan(q.interval, q.from, q.to, stored);
        if (plan?.notice) extra.notice = plan.notice;
        if (plan?.fetch) {
          const fetched = await deps.onDemand!.fetch(q.symbol, plan.fetch);
          extra.fetched = fetched;
          if (fetched.error?.code === "unknown_symbol" && stored.length === 0) {
            throw new ApiError(404, "unknown_symbol", `${fetched.error.message}: no history to show`);
          }
          if (fetched.candlesWritten > 0) ({ stored, candles } = await read());
        }
        // Validated by content: a range whose candles did not change answers 304 to a client that holds it. A range
        // that ends before the current interval holds closed candles only and may be reused briefly without asking.
        const { body, etag } = historyBody(q.symbol, q.interval, stored, candles, extra);
        const closed = q.to <= Date.now() - INTERVAL_MS[q.interval];
        c.header("ETag", etag);
        c.header("Cache-Control", closed ? "private, max-age=60, must-revalidate" : "private, no-cache");
        if (c.req.header("If-None-Match")?.split(/\s*,\s*/).includes(etag)) return c.body(null, 304);
        c.header("Content-Type", "application/json");
        return c.body(body);
      },
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/alerts",
        tags: ["alerts"],
        summary: "Alerts of the caller's rules and the built-in rule, newest first",
        ...read,
        request: { query: alertsQuery },
        responses: { 200: json(alertListSchema), ...errors() },
      }),
      async (c) => {
        const q = c.req.valid("query");
        let cursor: [number, string] | undefined;
        if (q.cursor !== undefined) {
          try {
            const v = JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(q.cursor, { alphabet: "base64url" })));
            const parsed = cursorSchema.safeParse(v);
            if (parsed.success) cursor = parsed.data;
          } catch { /* reported below */ }
          if (!cursor) throw new ApiError(400, "invalid_input", "cursor: not a cursor this endpoint returned");
        }
        const { alerts, more } = await listAlerts(deps.store, {
          userId: c.get("userId"),
          limit: q.limit,
          ...(q.symbol ? { symbol: q.symbol } : {}),
          ...(q.rule ? { rule: q.rule } : {}),
          ...(q.since !== undefined ? { since: q.since } : {}),
          ...(q.until !== undefined ? { until: q.until } : {}),
          ...(cursor ? { before: cursor } : {}),
        });
        const last = alerts.at(-1);
        const next = more && last
          ? new TextEncoder().encode(JSON.stringify([last.time, last.id])).toBase64({
            alphabet: "base64url",
            omitPadding: true,
          })
          : null;
        return c.json({ alerts, nextCursor: next }, 200);
      },
    );
}

async function intraday(deps: MarketDeps, q: z.infer<typeof historyQuery>) {
  const minutes = INTERVAL_MS[q.interval] / 60_000;
  const load = () => minuteBuckets(deps.store, q.symbol, minutes, q.from, q.to);
  const stored = deps.cache ? await deps.cache.get(q.symbol, q.interval, q.from, q.to, load) : await load();
  // Cached candles are shared: only the last one is replaced (by a copy) or candles appended, never changed.
  const candles = stored.slice();
  // The minute still open lives in the actor: merge it into its bucket.
  const live = await deps.openCandle(q.symbol);
  if (live && live.time >= q.from && live.time < q.to) {
    const bucket = live.time - (live.time % INTERVAL_MS[q.interval]);
    const last = candles.at(-1);
    if (last && last.time === bucket) {
      candles[candles.length - 1] = {
        ...last,
        high: Math.max(last.high, live.high),
        low: Math.min(last.low, live.low),
        close: live.close,
        volume: last.volume + live.volume,
      };
    } else if (!last || last.time < bucket) {
      candles.push({
        time: bucket,
        open: live.open,
        high: live.high,
        low: live.low,
        close: live.close,
        volume: live.volume,
      });
    }
  }
  return { stored, candles };
}

async function daily(deps: MarketDeps, q: z.infer<typeof historyQuery>) {
  const load = () => dailyCandles(deps.store, q.symbol, q.from, q.to);
  const stored = deps.cache ? await deps.cache.get(q.symbol, "1d", q.from, q.to, load) : await load();
  const candles = stored.slice();
  // The last days are not in candles_1d until the day's fetch: build each from its minutes (extended hours included)
  // and the open one. Days are New York's, so a trade at 21:00 ET belongs to that day's bar, not the next UTC day's.
  const today = exchangeDay((deps.now ?? Date.now)());
  const after = Math.max(candles.at(-1)?.time ?? -Infinity, today - 7 * DAY_MS, q.from - DAY_MS);
  if (today >= q.from && today < q.to && after < today) {
    const firstDay = after + DAY_MS;
    const { candles: hours } = await intraday(deps, {
      ...q,
      interval: "1h",
      from: exchangeDayRange(firstDay).start,
      to: exchangeDayRange(today).end,
    });
    let bar: (typeof candles)[number] | undefined;
    for (const h of hours) {
      const day = exchangeDay(h.time);
      if (day < q.from) continue;
      if (bar?.time === day) {
        bar.high = Math.max(bar.high, h.high);
        bar.low = Math.min(bar.low, h.low);
        bar.close = h.close;
        bar.volume += h.volume;
      } else candles.push(bar = { ...h, time: day });
    }
  }
  return { stored, candles };
}
