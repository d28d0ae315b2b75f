import type { MiddlewareHandler } from "hono";
import type { WatchlistBook } from "../../actors/watchlist_book.ts";
import { watchlistInputSchema, watchlistSchema } from "../../schema/watchlist.ts";
import type { ApiEnv } from "./declare.ts";
import { ownedRoutes } from "./owned.ts";

/**
 * /api/v1/watchlists: a user's named lists of symbols, in the order the user arranged them (routes/api/owned.ts).
 * Every symbol on any watchlist is tracked live.
 *
 * @param book the shared watchlist book
 * @param who the identity middleware
 * @returns the router to mount at /api/v1/watchlists
 */
export function watchlistRoutes(book: WatchlistBook, who: MiddlewareHandler<ApiEnv>) {
  return ownedRoutes(
    {
      plural: "watchlists",
      singular: "watchlist",
      idPrefix: "w",
      record: watchlistSchema,
      body: watchlistInputSchema,
      summaries: {
        list: "The caller's watchlists",
        create: "Create a watchlist",
        get: "One of the caller's watchlists",
        replace: "Rename, reorder or change a watchlist's symbols",
        delete: "Delete a watchlist",
      },
      book,
      save: (userId, id, body) => book.put(userId, id, body),
    },
    ["watchlists"],
    who,
  );
}
