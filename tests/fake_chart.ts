/**
 * Deterministic OHLCV histories in the wire shapes of Yahoo's chart API and Massive's aggregates API, for the local
 * servers the history-job tests run against. Prices are a seeded walk per symbol, so every request for the same
 * symbol and time returns the same bar.
 */
import type { HistoryCandle } from "../schema/candle.ts";
import { isEarlyClose, tradingDays } from "../jobs/calendar.ts";

const DAY = 86_400_000;

/** Offset of New York from UTC on `day` (minutes, negative: -300 in winter, -240 in summer). */
export function nyOffsetMinutes(day: number): number {
  const noon = new Date(day + 12 * 3_600_000);
  const p = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hourCycle: "h23", hour: "2-digit" })
      .formatToParts(noon).map((x) => [x.type, x.value]),
  );
  return (Number(p.hour) - 12) * 60;
}

function hash(s: string, n: number): number {
  let h = 2166136261 ^ n;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  return ((h ^ (h >>> 13)) >>> 0) / 4294967296;
}

/** One bar of the fake market: OHLCV, as the chart API carries it. */
export type FakeBar = HistoryCandle;

/** A bar for `symbol` at `time`: the close follows a smooth curve of time, open, high and low scatter around it. */
function bar(symbol: string, time: number, key: number, scale: number): FakeBar {
  const base = 50 + hash(symbol, 0) * 400;
  const days = time / DAY;
  const drift = Math.sin(days / 37) * 0.15 + Math.sin(days / 5) * 0.03;
  const close = Math.round(base * (1 + drift) * 100) / 100;
  const open = Math.round(close * (1 + (hash(symbol, key) - 0.5) * 0.02) * 100) / 100;
  const high = Math.round(Math.max(open, close) * (1 + hash(symbol, key + 1) * 0.01) * 100) / 100;
  const low = Math.round(Math.min(open, close) * (1 - hash(symbol, key + 2) * 0.01) * 100) / 100;
  return { time, open, high, low, close, volume: Math.round((1 + hash(symbol, key + 3)) * scale) };
}

/** Daily bars of `symbol` for the trading days in [from, to), stamped at the New York open (as Yahoo stamps them). */
export function dailyBars(symbol: string, from: number, to: number): FakeBar[] {
  return tradingDays(from, to - 1).map((d) => bar(symbol, d + (570 - nyOffsetMinutes(d)) * 60_000, d / DAY, 5e7));
}

/** 1-minute bars of `symbol` in [from, to) during each trading day's regular session. */
export function minuteBars(symbol: string, from: number, to: number): FakeBar[] {
  const out: FakeBar[] = [];
  for (const d of tradingDays(from - DAY, to)) {
    const open = d + (570 - nyOffsetMinutes(d)) * 60_000;
    const minutes = isEarlyClose(d) ? 210 : 390;
    for (let m = 0; m < minutes; m++) {
      const t = open + m * 60_000;
      if (t >= from && t < to) out.push(bar(symbol, t, t / 60_000, 1e5));
    }
  }
  return out;
}

/** Yahoo's chart JSON for `bars`; `nullEvery` puts nulls in every nth bar (a halted minute). */
export function yahooChartBody(
  symbol: string,
  interval: string,
  bars: FakeBar[],
  opts: { nullEvery?: number; splits?: { time: number; numerator: number; denominator: number }[] } = {},
) {
  const period = (start: number, end: number) => ({ timezone: "EST", start, end, gmtoffset: -18000 });
  const last = bars.at(-1);
  const meta = {
    currency: "USD",
    symbol,
    exchangeName: "NMS",
    fullExchangeName: "NasdaqGS",
    instrumentType: "EQUITY",
    firstTradeDate: 345479400,
    regularMarketTime: Math.floor((last?.time ?? Date.now()) / 1000),
    hasPrePostMarketData: true,
    gmtoffset: -18000,
    timezone: "EST",
    exchangeTimezoneName: "America/New_York",
    regularMarketPrice: last?.close ?? 100,
    chartPreviousClose: bars[0]?.open ?? 100,
    priceHint: 2,
    currentTradingPeriod: {
      pre: period(1763715600, 1763735400),
      regular: period(1763735400, 1763758800),
      post: period(1763758800, 1763773200),
    },
    dataGranularity: interval,
    range: "",
    validRanges: ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
  };
  if (bars.length === 0) {
    return { chart: { result: [{ meta, indicators: { quote: [{}] } }], error: null } };
  }
  const nul = (i: number) => opts.nullEvery !== undefined && i % opts.nullEvery === opts.nullEvery - 1;
  const col = (f: (b: FakeBar) => number) => bars.map((b, i) => (nul(i) ? null : f(b)));
  const splits = opts.splits?.length
    ? {
      splits: Object.fromEntries(opts.splits.map((s) => [
        String(s.time / 1000),
        {
          date: s.time / 1000,
          numerator: s.numerator,
          denominator: s.denominator,
          splitRatio: `${s.numerator}:${s.denominator}`,
        },
      ])),
    }
    : undefined;
  return {
    chart: {
      result: [{
        meta,
        timestamp: bars.map((b) => Math.floor(b.time / 1000)),
        ...(splits ? { events: splits } : {}),
        indicators: {
          quote: [{
            open: col((b) => b.open),
            high: col((b) => b.high),
            low: col((b) => b.low),
            close: col((b) => b.close),
            volume: col((b) => b.volume),
          }],
          ...(interval === "1d" ? { adjclose: [{ adjclose: col((b) => b.close) }] } : {}),
        },
      }],
      error: null,
    },
  };
}

/** Options of {@link yahooChartHandler}. */
export interface ChartBehaviour {
  /** Symbols the fake knows; others get Yahoo's 404. Default: all. */
  known?: Set<string>;
  /** Statuses to answer, in order, before the real answer, per symbol (429, 500, ...). */
  failFirst?: Map<string, number[]>;
  /** Symbols whose every bar range is empty. */
  empty?: Set<string>;
  /** Puts nulls in every nth minute bar. */
  nullEvery?: number;
  /** The clock Yahoo's 30-day limit for 1-minute bars is measured from. */
  now?: () => number;
}

/**
 * A chart handler for tests/fake_yahoo_rest.ts that behaves like Yahoo: period1/period2 in seconds, daily and
 * 1-minute bars, 422 for a 1-minute request wider than 8 days or older than 30, 404 for unknown symbols.
 */
export function yahooChartHandler(b: ChartBehaviour = {}) {
  return (symbol: string, q: URLSearchParams): Response => {
    const fail = b.failFirst?.get(symbol);
    if (fail?.length) {
      const status = fail.shift()!;
      return new Response(status === 429 ? "Too Many Requests" : "Internal Server Error", {
        status,
        headers: status === 429 ? { "Retry-After": "0" } : {},
      });
    }
    if (b.known && !b.known.has(symbol)) {
      return Response.json(
        { chart: { result: null, error: { code: "Not Found", description: "No data found, symbol may be delisted" } } },
        { status: 404 },
      );
    }
    const from = Number(q.get("period1")) * 1000, to = Number(q.get("period2")) * 1000;
    const interval = q.get("interval") ?? "1d";
    if (interval === "1m") {
      const now = (b.now ?? Date.now)();
      if (to - from > 8 * DAY || from < now - 30 * DAY) {
        return Response.json({
          chart: {
            result: null,
            error: {
              code: "Unprocessable Entity",
              description:
                "1m data not available for startTime. Only 8 days worth of 1m granularity data are allowed " +
                "to be fetched per request, within the last 30 days.",
            },
          },
        }, { status: 422 });
      }
    }
    const bars = b.empty?.has(symbol)
      ? []
      : interval === "1m"
      ? minuteBars(symbol, from, to)
      : dailyBars(symbol, from, to);
    return Response.json(yahooChartBody(symbol, interval, bars, interval === "1m" ? { nullEvery: b.nullEvery } : {}));
  };
}

/**
 * A local server speaking Massive's aggregates API: `/v2/aggs/ticker/{t}/range/1/{day|minute}/{from}/{to}` with
 * `apiKey`, pages of at most `limit` results linked by `next_url`.
 */
export function startFakeMassiveRest(apiKey: string, pageSize = 500) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    requests.push(url.pathname + url.search);
    if (url.searchParams.get("apiKey") !== apiKey) {
      return Response.json({ status: "ERROR", request_id: "x", error: "Unknown API Key" }, { status: 401 });
    }
    const m = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/1\/(day|minute)\/(\d+)\/(\d+)$/.exec(url.pathname);
    if (!m) return Response.json({ status: "NOT_FOUND", message: "no route" }, { status: 404 });
    const [, ticker, span, from, to] = m;
    const all = span === "day" ? dailyBars(ticker!, +from!, +to!) : minuteBars(ticker!, +from!, +to!);
    const offset = Number(url.searchParams.get("cursor") ?? 0);
    const page = all.slice(offset, offset + pageSize);
    const results = page.map((b) => ({
      // Massive stamps a day bar at the New York midnight that starts it.
      t: span === "day" ? b.time - (b.time % DAY) - nyOffsetMinutes(b.time - (b.time % DAY)) * 60_000 : b.time,
      o: b.open,
      h: b.high,
      l: b.low,
      c: b.close,
      v: b.volume,
      vw: Math.round(((b.high + b.low + b.close) / 3) * 1e4) / 1e4,
      n: Math.round(b.volume / 100),
    }));
    const next = offset + pageSize < all.length
      ? `http://${url.host}${url.pathname}?cursor=${offset + pageSize}&adjusted=true&sort=asc&limit=${pageSize}`
      : undefined;
    return Response.json({
      ticker,
      queryCount: all.length,
      resultsCount: results.length,
      adjusted: true,
      ...(results.length ? { results } : {}),
      status: "OK",
      request_id: crypto.randomUUID(),
      ...(next ? { next_url: next } : {}),
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, requests, stop: () => server.shutdown() };
}
