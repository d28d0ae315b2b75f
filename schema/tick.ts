import { FEEDS } from "./feeds.ts";
import { z } from "zod";
import { symbolSchema } from "./symbol.ts";

/** Trading sessions a tick can come from, by name. */
export const MARKET_HOURS = ["pre", "regular", "post", "extended", "overnight", "closed"] as const;
/** A trading session. */
export type MarketHours = (typeof MARKET_HOURS)[number];

/** Kinds of instrument, by name. */
export const QUOTE_TYPES = [
  "equity",
  "etf",
  "index",
  "crypto",
  "currency",
  "future",
  "option",
  "mutualfund",
  "moneymarket",
  "warrant",
  "bond",
  "commodity",
  "ecnquote",
  "indicator",
  "industry",
  "altsymbol",
  "unknown",
] as const;
/** A kind of instrument. */
export type QuoteType = (typeof QUOTE_TYPES)[number];

/** Where a tick came from. Synthetic ticks never reach the store a live feed writes to. */
export const TICK_SOURCES = FEEDS;
/** Where a tick came from. */
export type TickSource = (typeof TICK_SOURCES)[number];

const price = z.number().finite().positive();
const amount = z.number().finite();
const count = z.number().int().nonnegative();

/**
 * One normalized price update, whatever the source.
 *
 * `time` is epoch ms. `price` is rounded to the decimals the source quotes (307.2, not 307.20001220703125);
 * `priceRaw` keeps the value as sent when the source sends float32. Optional fields are absent when the source
 * did not send them, never zero-filled.
 */
export const tickSchema = z.object({
  symbol: symbolSchema,
  price,
  priceRaw: amount.optional(),
  time: z.number().int().positive(),
  source: z.enum(TICK_SOURCES),
  quoteType: z.enum(QUOTE_TYPES),
  marketHours: z.enum(MARKET_HOURS),
  currency: z.string().max(16).optional(),
  exchange: z.string().max(32).optional(),
  shortName: z.string().max(200).optional(),
  change: amount.optional(),
  changePercent: amount.optional(),
  dayVolume: count.optional(),
  dayHigh: amount.optional(),
  dayLow: amount.optional(),
  openPrice: amount.optional(),
  previousClose: amount.optional(),
  bid: amount.optional(),
  bidSize: count.optional(),
  ask: amount.optional(),
  askSize: count.optional(),
  lastSize: count.optional(),
  priceHint: z.number().int().min(0).max(12).optional(),
  /**
   * Arrival position, stamped by the ingest sink: strictly increasing in the order ticks were accepted, across
   * restarts (see `ArrivalClock`). Replay after a restart resumes after the snapshot's position, in this order.
   */
  seq: count.optional(),
});

/** One normalized price update. */
export type Tick = z.infer<typeof tickSchema>;
