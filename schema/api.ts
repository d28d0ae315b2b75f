import { z } from "zod";
import { INTERVALS } from "./candle.ts";
import { RULE_KINDS, WINDOWS } from "./rule.ts";
import { MARKET_HOURS, TICK_SOURCES } from "./tick.ts";

/** Response bodies of the REST API: the OpenAPI document describes them from these schemas. */

/** One rolling window of an actor; null until the window has a tick. */
export const windowStatsSchema = z.object({
  first: z.number(),
  last: z.number(),
  high: z.number(),
  low: z.number(),
  changePercent: z.number(),
  volume: z.number(),
  ticks: z.number().int(),
}).nullable();

/** Body of GET /api/v1/stocks/{symbol}. */
export const stockSchema = z.object({
  symbol: z.string(),
  price: z.number(),
  time: z.number().int().meta({ description: "epoch ms of the last tick" }),
  change: z.number(),
  changePercent: z.number(),
  dayVolume: z.number(),
  open: z.number().meta({
    description: "the trading day's opening price (the first trade seen when the source sends none)",
  }),
  dayHigh: z.number(),
  dayLow: z.number(),
  previousClose: z.number().nullable().meta({ description: "the previous trading day's close; null when not known" }),
  marketHours: z.enum(MARKET_HOURS),
  exchange: z.string(),
  source: z.enum(TICK_SOURCES),
  windows: z.partialRecord(z.enum(WINDOWS), windowStatsSchema),
  stale: z.boolean().meta({
    description: "true when the symbol's owner did not answer and this is its last saved snapshot, up to a minute old",
  }),
  asOf: z.number().int().meta({ description: "epoch ms at which this state was read from the owner or saved" }),
});

/** Body of GET /api/v1/history. */
export const historySchema = z.object({
  symbol: z.string(),
  interval: z.enum(INTERVALS),
  candles: z.array(z.object({
    time: z.number().int().meta({ description: "start of the interval, epoch ms" }),
    open: z.number(),
    high: z.number(),
    low: z.number(),
    close: z.number(),
    volume: z.number(),
  })),
  fetched: z.object({
    provider: z.string(),
    interval: z.enum(["1d", "1m"]),
    from: z.number().int(),
    to: z.number().int(),
    candlesWritten: z.number().int(),
    ms: z.number().int(),
    error: z.object({ code: z.enum(["unknown_symbol", "provider_failed"]), message: z.string() }).optional(),
  }).optional().meta({
    description: "set when the store lacked the range and it was fetched from the history provider in this request",
  }),
  notice: z.string().optional().meta({ description: "what the provider cannot have (1-minute bars are recent only)" }),
});

/** Body of GET /api/v1/alerts. */
export const alertListSchema = z.object({
  alerts: z.array(z.object({
    id: z.string(),
    time: z.number().int(),
    symbol: z.string(),
    rule: z.string().meta({ description: "id of the rule that fired" }),
    kind: z.enum(RULE_KINDS),
    window: z.string(),
    message: z.string(),
    price: z.number(),
    changePercent: z.number(),
  })),
  nextCursor: z.string().nullable().meta({ description: "pass as cursor for the next (older) page; null at the end" }),
});

/** Body of GET /api/v1/symbols/search. */
export const searchResultSchema = z.object({
  query: z.string(),
  source: z.enum(["yahoo", "local"]).meta({ description: "local: Yahoo did not answer, known symbols were matched" }),
  results: z.array(z.object({ symbol: z.string(), name: z.string(), exchange: z.string(), type: z.string() })),
});

/** Body of POST /api/v1/tokens. */
export const tokenInputSchema = z.object({
  name: z.string({ error: "name is required" }).trim().min(1, { error: "name must not be empty" })
    .max(64, { error: "name is at most 64 characters" }),
}).strict();

/**
 * An API token as listed, and as stored in KV under the SHA-256 of its secret (the secret is never listed nor
 * stored).
 */
export const tokenSchema = z.object({
  id: z.string(),
  userId: z.string(),
  name: z.string(),
  createdAt: z.number().int(),
});

/** An API token's record. */
export type TokenRecord = z.infer<typeof tokenSchema>;

/** Body of POST /api/v1/tokens: the token plus its secret, shown this once. */
export const createdTokenSchema = tokenSchema.extend({
  token: z.string().meta({ description: "bbt_…; store it now" }),
});

const check = z.object({ count: z.number().int(), examples: z.array(z.record(z.string(), z.unknown())) });

/** Body of GET /api/v1/jobs. */
export const jobsSchema = z.object({
  runs: z.array(z.object({
    id: z.string(),
    job: z.string(),
    status: z.enum(["running", "ok", "partial", "failed", "cancelled"]),
    startedAt: z.number().int(),
    finishedAt: z.number().int().nullable(),
    symbols: z.number().int(),
    rowsWritten: z.number().int(),
    findings: z.object({
      ohlc: check,
      gaps: check,
      duplicates: check,
      jumps: check,
      incomplete: check,
      unknownSymbols: check,
      errors: check,
    }).nullable(),
    error: z.string().optional(),
  })),
});
