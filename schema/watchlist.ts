import { z } from "zod";
import { symbolSchema } from "./symbol.ts";

/** Most symbols on one watchlist. */
export const MAX_WATCHLIST_SYMBOLS = 200;
/** Most watchlists one user keeps. */
export const MAX_WATCHLISTS = 20;

/**
 * A watchlist as a client writes it: a name and its symbols in display order. Repeated symbols are dropped (the
 * first position wins), so reordering is a PUT of the same symbols in the new order.
 */
export const watchlistInputSchema = z.object({
  name: z.string({ error: "name is required" }).trim().min(1, { error: "name must not be empty" })
    .max(64, { error: "name is at most 64 characters" }),
  symbols: z.array(symbolSchema).max(MAX_WATCHLIST_SYMBOLS, {
    error: `a watchlist holds at most ${MAX_WATCHLIST_SYMBOLS} symbols`,
  }).default([]).transform((s) => [...new Set(s)]),
}).strict();

/** What a client sends to create or replace a watchlist. */
export type WatchlistInput = z.input<typeof watchlistInputSchema>;

/** A stored watchlist. */
export const watchlistSchema = z.object({
  id: z.string(),
  userId: z.string(),
  name: z.string(),
  symbols: z.array(z.string()),
  createdAt: z.number(),
  updatedAt: z.number(),
});

/** A stored watchlist. */
export type Watchlist = z.infer<typeof watchlistSchema>;
