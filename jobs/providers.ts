import { z } from "zod";
import { createYahooRest, type YahooRest } from "../feeds/yahoo_rest.ts";

export { FETCH_INTERVALS } from "../schema/backfill.ts";
export type { FetchInterval } from "../schema/backfill.ts";
import type { FetchInterval } from "../schema/backfill.ts";

export type { Bar } from "../schema/candle.ts";
import type { Bar } from "../schema/candle.ts";

/** A stock split on a day: `ratio` new shares per old share (4 for a 4:1 split). */
export interface Split {
  time: number;
  ratio: number;
}

/** What a provider returned for one symbol and range. */
export interface Fetched {
  bars: Bar[];
  splits: Split[];
  /** Bars the provider sent with missing values (Yahoo sends nulls for halted minutes); they are not written. */
  incomplete: number;
}

/** Raised for a symbol the provider does not know; the job records it and goes on with the other symbols. */
export class UnknownSymbolError extends Error {
  override name = "UnknownSymbolError";
}

/** A source of historical OHLCV bars. */
export interface OhlcvProvider {
  readonly name: "yahoo" | "massive";
  /** How far back 1-minute bars go (Yahoo: 30 days), and the longest range of one 1-minute request. */
  readonly minuteLimits: { maxAgeMs: number; maxSpanMs: number };
  fetch(symbol: string, interval: FetchInterval, from: number, to: number, signal?: AbortSignal): Promise<Fetched>;
}

const DAY = 86_400_000;

/** The UTC midnight of the exchange-local date of `t` (daily bars are stamped at the session's open). */
const dayOf = (t: number, gmtOffsetSec: number) => {
  const local = t + gmtOffsetSec * 1000;
  return local - (((local % DAY) + DAY) % DAY);
};

/**
 * Yahoo through yahoo-finance2's chart module: daily bars for any range, 1-minute bars for the last 30 days in
 * requests of at most 8 days (Yahoo's limits). Bars with a null in any price are counted, not written.
 */
export class YahooChartProvider implements OhlcvProvider {
  readonly name = "yahoo" as const;
  readonly minuteLimits = { maxAgeMs: 29 * DAY, maxSpanMs: 7 * DAY };

  constructor(private readonly yahoo: YahooRest) {}

  async fetch(symbol: string, interval: FetchInterval, from: number, to: number): Promise<Fetched> {
    let res;
    try {
      res = await this.yahoo.chart(symbol, {
        period1: new Date(from),
        period2: new Date(to),
        interval,
        events: "split",
        includePrePost: false,
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/no data found|delisted|not found/i.test(msg)) throw new UnknownSymbolError(`${symbol}: ${msg}`);
      throw err;
    }
    const offset = Number(res.meta.gmtoffset ?? 0);
    const out: Fetched = { bars: [], splits: [], incomplete: 0 };
    for (const q of res.quotes) {
      const { open, high, low, close, volume } = q;
      if (open == null || high == null || low == null || close == null) {
        out.incomplete++;
        continue;
      }
      const t = q.date.getTime();
      out.bars.push({
        time: interval === "1d" ? dayOf(t, offset) : t,
        open,
        high,
        low,
        close,
        volume: volume ?? 0,
        ...(q.adjclose != null ? { adjClose: q.adjclose } : {}),
      });
    }
    for (const s of res.events?.splits ?? []) {
      const time = s.date instanceof Date ? s.date.getTime() : Number(s.date) * 1000;
      out.splits.push({ time: dayOf(time, offset), ratio: s.numerator / s.denominator });
    }
    return out;
  }
}

/** Massive's aggregates response (`/v2/aggs/ticker/...`). */
const aggsSchema = z.object({
  status: z.string(),
  resultsCount: z.number().optional(),
  results: z.array(z.object({
    t: z.number(),
    o: z.number(),
    h: z.number(),
    l: z.number(),
    c: z.number(),
    v: z.number(),
    vw: z.number().optional(),
    n: z.number().optional(),
  })).optional(),
  next_url: z.string().optional(),
  error: z.string().optional(),
  message: z.string().optional(),
});

/**
 * Massive's aggregates endpoint `/v2/aggs/ticker/{t}/range/{m}/{span}/{from}/{to}`, following `next_url` until the
 * range is complete. The key goes in the `apiKey` query parameter of every page.
 */
export class MassiveAggsProvider implements OhlcvProvider {
  readonly name = "massive" as const;
  readonly minuteLimits = { maxAgeMs: 5 * 365 * DAY, maxSpanMs: 30 * DAY };

  constructor(private readonly o: { apiBase: string; apiKey: string; fetch: typeof fetch }) {}

  async fetch(symbol: string, interval: FetchInterval, from: number, to: number, signal?: AbortSignal) {
    const span = interval === "1d" ? "day" : "minute";
    const base = this.o.apiBase.replace(/\/+$/, "");
    let url: string | undefined = `${base}/v2/aggs/ticker/${encodeURIComponent(symbol)}/range/1/${span}/${from}/${to}` +
      `?adjusted=true&sort=asc&limit=50000`;
    const out: Fetched = { bars: [], splits: [], incomplete: 0 };
    for (let page = 0; url; page++) {
      if (page > 1_000) throw new Error(`${symbol}: more than 1,000 pages of aggregates`);
      const u: URL = new URL(url);
      u.searchParams.set("apiKey", this.o.apiKey);
      const res = await this.o.fetch(u, signal ? { signal } : {});
      const text = await res.text();
      if (!res.ok) {
        if (res.status === 404) throw new UnknownSymbolError(`${symbol}: ${text.slice(0, 200)}`);
        throw new Error(`Massive aggregates ${symbol}: HTTP ${res.status} ${text.slice(0, 200)}`);
      }
      const body = aggsSchema.parse(JSON.parse(text));
      if (body.status === "ERROR") throw new Error(`Massive aggregates ${symbol}: ${body.error ?? body.message}`);
      for (const r of body.results ?? []) {
        out.bars.push({
          time: interval === "1d" ? r.t - (((r.t % DAY) + DAY) % DAY) : r.t,
          open: r.o,
          high: r.h,
          low: r.l,
          close: r.c,
          volume: Math.round(r.v),
          ...(r.vw !== undefined ? { vwap: r.vw } : {}),
          ...(r.n !== undefined ? { trades: r.n } : {}),
        });
      }
      url = body.next_url;
    }
    return out;
  }
}

/** What {@link historyProvider} reads from the configuration. */
export interface ProviderConfig {
  yahoo: { apiBase?: string };
  massive: { apiKey?: string; apiBase: string };
}

/**
 * The provider the history jobs use: Massive's aggregates when a Massive key is configured, Yahoo's chart API
 * otherwise. `fetch` is the rate-limited, retrying fetch every request goes through.
 */
export function historyProvider(config: ProviderConfig, fetch: typeof globalThis.fetch): OhlcvProvider {
  if (config.massive.apiKey) {
    return new MassiveAggsProvider({ apiBase: config.massive.apiBase, apiKey: config.massive.apiKey, fetch });
  }
  return new YahooChartProvider(
    createYahooRest({ ...(config.yahoo.apiBase ? { apiBase: config.yahoo.apiBase } : {}), fetch }),
  );
}
