import { Hono } from "hono";
import type { WatchlistBook } from "../../actors/watchlist_book.ts";
import { type Watchlist, watchlistInputSchema } from "../../schema/watchlist.ts";
import { ApiError } from "../errors.ts";
import type { IdentityVars } from "../identity.ts";
import { readJson } from "./body.ts";
import { idParam, newId } from "./ids.ts";

/**
 * /api/v1/watchlists: a user's named lists of symbols, in the order the user arranged them. Every symbol on any
 * watchlist is tracked live. Someone else's watchlist id answers 404, like an id that does not exist.
 */
export function watchlistRoutes(book: WatchlistBook): Hono<{ Variables: IdentityVars }> {
  const mine = (userId: string, id: string): Watchlist => {
    const w = book.get(idParam.parse(id));
    if (!w || w.userId !== userId) throw new ApiError(404, "not_found", `no watchlist ${id}`);
    return w;
  };
  return new Hono<{ Variables: IdentityVars }>()
    .get("/", (c) => c.json({ watchlists: book.listForUser(c.get("userId")) }))
    .post("/", async (c) => {
      const userId = c.get("userId");
      const input = watchlistInputSchema.parse(await readJson(c));
      return c.json(await book.put(userId, newId("w"), input), 201);
    })
    .get("/:id", (c) => c.json(mine(c.get("userId"), c.req.param("id"))))
    .put("/:id", async (c) => {
      const old = mine(c.get("userId"), c.req.param("id"));
      return c.json(await book.put(old.userId, old.id, watchlistInputSchema.parse(await readJson(c))));
    })
    .delete("/:id", async (c) => {
      const old = mine(c.get("userId"), c.req.param("id"));
      await book.delete(old.id);
      return c.body(null, 204);
    });
}
