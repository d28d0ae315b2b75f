import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { WatchlistBook } from "../../actors/watchlist_book.ts";
import { type Watchlist, watchlistInputSchema, watchlistSchema } from "../../schema/watchlist.ts";
import { ApiError } from "../errors.ts";
import { access, type ApiEnv, apiRouter, errors, json, jsonBody } from "./declare.ts";
import { idParams, newId } from "./ids.ts";

const tags = ["watchlists"];
const body = { required: true, content: { "application/json": { schema: watchlistInputSchema } } };

/**
 * /api/v1/watchlists: a user's named lists of symbols, in the order the user arranged them. Every symbol on any
 * watchlist is tracked live. Someone else's watchlist id answers 404, like an id that does not exist.
 *
 * @param book the shared watchlist book
 * @param who the identity middleware
 * @returns the router to mount at /api/v1/watchlists
 */
export function watchlistRoutes(book: WatchlistBook, who: MiddlewareHandler<ApiEnv>) {
  const mine = (userId: string, id: string): Watchlist => {
    const w = book.get(id);
    if (!w || w.userId !== userId) throw new ApiError(404, "not_found", `no watchlist ${id}`);
    return w;
  };
  const read = access("user", who);
  const write = access("write", who);
  return apiRouter()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        tags,
        summary: "The caller's watchlists",
        ...read,
        responses: { 200: json(z.object({ watchlists: z.array(watchlistSchema) })), ...errors() },
      }),
      (c) => c.json({ watchlists: book.listForUser(c.get("userId")) }, 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        tags,
        summary: "Create a watchlist",
        ...write,
        middleware: [who, jsonBody],
        request: { body },
        responses: { 201: json(watchlistSchema), ...errors({ write: true, body: true }) },
      }),
      async (c) => c.json(await book.put(c.get("userId"), newId("w"), c.req.valid("json")), 201),
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}",
        tags,
        summary: "One of the caller's watchlists",
        ...read,
        request: { params: idParams },
        responses: { 200: json(watchlistSchema), ...errors({ params: true }) },
      }),
      (c) => c.json(mine(c.get("userId"), c.req.valid("param").id), 200),
    )
    .openapi(
      createRoute({
        method: "put",
        path: "/{id}",
        tags,
        summary: "Rename, reorder or change a watchlist's symbols",
        ...write,
        middleware: [who, jsonBody],
        request: { params: idParams, body },
        responses: { 200: json(watchlistSchema), ...errors({ params: true, write: true, body: true }) },
      }),
      async (c) => {
        const old = mine(c.get("userId"), c.req.valid("param").id);
        return c.json(await book.put(old.userId, old.id, c.req.valid("json")), 200);
      },
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        tags,
        summary: "Delete a watchlist",
        ...write,
        request: { params: idParams },
        responses: { 204: { description: "deleted" }, ...errors({ params: true, write: true }) },
      }),
      async (c) => {
        const old = mine(c.get("userId"), c.req.valid("param").id);
        await book.delete(old.id);
        return c.body(null, 204);
      },
    );
}
