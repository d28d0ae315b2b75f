import type { MiddlewareHandler } from "hono";
import type { RuleBook } from "../../actors/rule_book.ts";
import { ruleBodySchema, ruleSchema } from "../../schema/rule.ts";
import { COLLECTION_LIMITS } from "../../actors/user_quota.ts";
import type { ApiEnv } from "./declare.ts";
import { ownedRoutes } from "./owned.ts";

/** Most alert rules one user keeps. */
export const MAX_RULES = COLLECTION_LIMITS.rules;

/**
 * /api/v1/rules: a user's alert rules (routes/api/owned.ts). A body's `id` and `userId` are ignored: the server
 * assigns them.
 *
 * @param book the shared rule book
 * @param who the identity middleware
 * @returns the router to mount at /api/v1/rules
 */
export function ruleRoutes(book: RuleBook, who: MiddlewareHandler<ApiEnv>) {
  return ownedRoutes(
    {
      plural: "rules",
      singular: "rule",
      idPrefix: "r",
      record: ruleSchema,
      body: ruleBodySchema,
      summaries: {
        list: "The caller's alert rules",
        create: "Create an alert rule",
        get: "One of the caller's rules",
        replace: "Replace one of the caller's rules",
        delete: "Delete one of the caller's rules",
      },
      book,
      save: (userId, id, body) => book.put(ruleSchema.parse({ ...body, id, userId })),
    },
    ["alerts"],
    who,
  );
}
