import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";
import { access, type ApiEnv, apiRouter, errors, json } from "./declare.ts";
import { idParams, newId } from "./ids.ts";

/** A collection of records each owned by one user, kept in a book (rules, watchlists). */
export interface OwnedCollection<T extends { id: string; userId: string }, B extends z.ZodType> {
  /** The collection's name in paths and answers (`rules`), and its record's (`rule`). */
  plural: string;
  singular: string;
  /** Prefix of new ids (`r` gives `r_…`). */
  idPrefix: string;
  /** The record as answered, and the body a client writes. */
  record: z.ZodType<T>;
  body: B;
  /** Summaries of the five operations, for the document. */
  summaries: { list: string; create: string; get: string; replace: string; delete: string };
  /** Where the records are read and deleted (a RuleBook, a WatchlistBook). */
  book: { get(id: string): T | undefined; listForUser(userId: string): T[]; delete(id: string): Promise<boolean> };
  /** Saves record `id` of `userId` from a validated body (created or replacing). */
  save(userId: string, id: string, body: z.output<B>): Promise<T>;
}

/**
 * The five routes of a user-owned collection: list, create, get, replace, delete. Each user sees and changes only
 * their own records; someone else's id answers 404, exactly like an id that does not exist, so ids reveal nothing.
 *
 * @param c the collection and how its records are read and saved
 * @param tags the document's tag for the five operations
 * @param who the identity middleware
 * @returns the router to mount at /api/v1/{plural}
 * @example
 * ```ts
 * api.route("/rules", ownedRoutes({ plural: "rules", singular: "rule", idPrefix: "r", ... }, ["alerts"], who));
 * ```
 */
export function ownedRoutes<T extends { id: string; userId: string }, B extends z.ZodType>(
  c: OwnedCollection<T, B>,
  tags: string[],
  who: MiddlewareHandler<ApiEnv>,
): OpenAPIHono<ApiEnv> {
  const mine = (userId: string, id: string): T => {
    const r = c.book.get(id);
    if (!r || r.userId !== userId) throw new ApiError(404, "not_found", `no ${c.singular} ${id}`);
    return r;
  };
  const read = access("user", who);
  const write = access("write", who, { json: true });
  // Declared with the plain zod type: the generic body would defeat the route's inferred input types.
  const body = { required: true, content: { "application/json": { schema: c.body as z.ZodType } } };
  const one = json(c.record);
  const r = apiRouter();
  r.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: c.summaries.list,
      ...read,
      responses: { 200: json(z.object({ [c.plural]: z.array(c.record) })), ...errors() },
    }),
    (ctx) => ctx.json({ [c.plural]: c.book.listForUser(ctx.get("userId")) }, 200),
  );
  r.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: c.summaries.create,
      ...write,
      request: { body },
      responses: { 201: one, ...errors({ write: true, body: true }) },
    }),
    async (ctx) =>
      ctx.json(await c.save(ctx.get("userId"), newId(c.idPrefix), ctx.req.valid("json") as z.output<B>), 201),
  );
  r.openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags,
      summary: c.summaries.get,
      ...read,
      request: { params: idParams },
      responses: { 200: one, ...errors({ params: true }) },
    }),
    (ctx) => ctx.json(mine(ctx.get("userId"), ctx.req.valid("param").id), 200),
  );
  r.openapi(
    createRoute({
      method: "put",
      path: "/{id}",
      tags,
      summary: c.summaries.replace,
      ...write,
      request: { params: idParams, body },
      responses: { 200: one, ...errors({ params: true, write: true, body: true }) },
    }),
    async (ctx) => {
      const old = mine(ctx.get("userId"), ctx.req.valid("param").id);
      return ctx.json(await c.save(old.userId, old.id, ctx.req.valid("json") as z.output<B>), 200);
    },
  );
  r.openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags,
      summary: c.summaries.delete,
      ...access("write", who),
      request: { params: idParams },
      responses: { 204: { description: "deleted" }, ...errors({ params: true, write: true }) },
    }),
    async (ctx) => {
      await c.book.delete(mine(ctx.get("userId"), ctx.req.valid("param").id).id);
      return ctx.body(null, 204);
    },
  );
  return r;
}
