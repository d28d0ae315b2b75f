import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { RuleBook } from "../../actors/rule_book.ts";
import { type Rule, ruleBodySchema, ruleSchema } from "../../schema/rule.ts";
import { COLLECTION_LIMITS } from "../../actors/user_quota.ts";
import { ApiError } from "../errors.ts";
import { access, type ApiEnv, apiRouter, errors, json, jsonBody } from "./declare.ts";
import { idParams, newId } from "./ids.ts";

/** Most alert rules one user keeps. */
export const MAX_RULES = COLLECTION_LIMITS.rules;

const tags = ["alerts"];
const body = { required: true, content: { "application/json": { schema: ruleBodySchema } } };

/**
 * /api/v1/rules: a user's alert rules. Each user sees and changes only their own; someone else's rule id answers 404,
 * exactly like an id that does not exist, so ids reveal nothing.
 *
 * @param book the shared rule book
 * @param who the identity middleware
 * @returns the router to mount at /api/v1/rules
 */
export function ruleRoutes(book: RuleBook, who: MiddlewareHandler<ApiEnv>) {
  const mine = (userId: string, id: string): Rule => {
    const r = book.get(id);
    if (!r || r.userId !== userId) throw new ApiError(404, "not_found", `no rule ${id}`);
    return r;
  };
  const read = access("user", who);
  const write = access("write", who);
  return apiRouter()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        tags,
        summary: "The caller's alert rules",
        ...read,
        responses: { 200: json(z.object({ rules: z.array(ruleSchema) })), ...errors() },
      }),
      (c) => c.json({ rules: book.listForUser(c.get("userId")) }, 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        tags,
        summary: "Create an alert rule",
        ...write,
        middleware: [who, jsonBody],
        request: { body },
        responses: { 201: json(ruleSchema), ...errors({ write: true, body: true }) },
      }),
      async (c) => {
        const rule = ruleSchema.parse({ ...c.req.valid("json"), id: newId("r"), userId: c.get("userId") });
        return c.json(await book.put(rule), 201);
      },
    )
    .openapi(
      createRoute({
        method: "get",
        path: "/{id}",
        tags,
        summary: "One of the caller's rules",
        ...read,
        request: { params: idParams },
        responses: { 200: json(ruleSchema), ...errors({ params: true }) },
      }),
      (c) => c.json(mine(c.get("userId"), c.req.valid("param").id), 200),
    )
    .openapi(
      createRoute({
        method: "put",
        path: "/{id}",
        tags,
        summary: "Replace one of the caller's rules",
        ...write,
        middleware: [who, jsonBody],
        request: { params: idParams, body },
        responses: { 200: json(ruleSchema), ...errors({ params: true, write: true, body: true }) },
      }),
      async (c) => {
        const old = mine(c.get("userId"), c.req.valid("param").id);
        return c.json(
          await book.put(ruleSchema.parse({ ...c.req.valid("json"), id: old.id, userId: old.userId })),
          200,
        );
      },
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        tags,
        summary: "Delete one of the caller's rules",
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
