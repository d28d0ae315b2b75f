import { Hono } from "hono";
import { z } from "zod";
import type { RuleBook } from "../../actors/rule_book.ts";
import { type Rule, ruleSchema } from "../../schema/rule.ts";
import { COLLECTION_LIMITS } from "../../actors/user_quota.ts";
import { ApiError } from "../errors.ts";
import type { IdentityVars } from "../identity.ts";
import { readJson } from "./body.ts";
import { idParam, newId } from "./ids.ts";

/** Most alert rules one user keeps. */
export const MAX_RULES = COLLECTION_LIMITS.rules;

/** A rule as a client writes it: the server assigns `id` and `userId`. */
const ruleBody = z.unknown().transform((v, ctx) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    ctx.addIssue({ code: "custom", message: "a rule is a JSON object" });
    return z.NEVER;
  }
  const { id: _id, userId: _user, ...rest } = v as Record<string, unknown>;
  return rest;
});

/**
 * /api/v1/rules: a user's alert rules. Each user sees and changes only their own; someone else's rule id answers 404,
 * exactly like an id that does not exist, so ids reveal nothing.
 */
export function ruleRoutes(book: RuleBook): Hono<{ Variables: IdentityVars }> {
  const mine = (userId: string, id: string): Rule => {
    const r = book.get(idParam.parse(id));
    if (!r || r.userId !== userId) throw new ApiError(404, "not_found", `no rule ${id}`);
    return r;
  };
  return new Hono<{ Variables: IdentityVars }>()
    .get("/", (c) => c.json({ rules: book.listForUser(c.get("userId")) }))
    .post("/", async (c) => {
      const userId = c.get("userId");
      const input = ruleBody.parse(await readJson(c));
      const rule = await book.put(ruleSchema.parse({ ...input, id: newId("r"), userId }));
      return c.json(rule, 201);
    })
    .get("/:id", (c) => c.json(mine(c.get("userId"), c.req.param("id"))))
    .put("/:id", async (c) => {
      const old = mine(c.get("userId"), c.req.param("id"));
      const input = ruleBody.parse(await readJson(c));
      return c.json(await book.put(ruleSchema.parse({ ...input, id: old.id, userId: old.userId })));
    })
    .delete("/:id", async (c) => {
      const old = mine(c.get("userId"), c.req.param("id"));
      await book.delete(old.id);
      return c.body(null, 204);
    });
}
