import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { createdTokenSchema, tokenInputSchema, type TokenRecord, tokenSchema } from "../../schema/api.ts";
import { keys } from "../../actors/keys.ts";
import { COLLECTION_LIMITS, Quotas } from "../../actors/user_quota.ts";
import { UserRecords } from "../../actors/user_records.ts";
import { ApiError } from "../errors.ts";
import { tokenHash } from "../identity.ts";
import { access, type ApiEnv, apiRouter, errors, json } from "./declare.ts";
import { idParams, newId } from "./ids.ts";

/** Most API tokens one user holds. */
export const MAX_TOKENS = COLLECTION_LIMITS.tokens;

/**
 * /api/v1/tokens: API tokens for scripts. Creating one needs the browser identity (cookie + CSRF header) or another
 * token; the secret (`bbt_…`) is in the creation response only, and only its SHA-256 is kept. Revoking deletes it,
 * and the next request that presents it gets 401.
 *
 * @param kv where tokens live
 * @param who the identity middleware
 * @param now the clock stamped on new tokens
 * @param quotas the per-user caps
 * @returns the router to mount at /api/v1/tokens
 */
export function tokenRoutes(
  kv: Deno.Kv,
  who: MiddlewareHandler<ApiEnv>,
  now: () => number = Date.now,
  quotas: Quotas = new Quotas(kv),
) {
  // A token's record lives under the hash of its secret (what a request presents); the user's index names it.
  const records = new UserRecords<TokenRecord>(kv, quotas, {
    collection: "tokens",
    what: "token",
    key: keys.token,
    indexes: (t, hash) => [[keys.tokenByUser(t.userId, t.id), hash]],
    owner: (t) => t.userId,
  });
  const list = async (userId: string): Promise<TokenRecord[]> => {
    const hashes: string[] = [];
    for await (const e of kv.list<string>({ prefix: keys.tokenByUserPrefix(userId) })) hashes.push(e.value);
    return (await records.getMany(hashes)).sort((a, b) => a.createdAt - b.createdAt);
  };
  const tags = ["identity"];
  const write = access("write", who);
  return apiRouter()
    .openapi(
      createRoute({
        method: "get",
        path: "/",
        tags,
        summary: "The caller's API tokens, without their secrets",
        ...access("user", who),
        responses: { 200: json(z.object({ tokens: z.array(tokenSchema) })), ...errors() },
      }),
      async (c) => c.json({ tokens: await list(c.get("userId")) }, 200),
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        tags,
        summary: "Create an API token; its secret is in this response only",
        ...access("write", who, { json: true }),
        request: { body: { required: true, content: { "application/json": { schema: tokenInputSchema } } } },
        responses: { 201: json(createdTokenSchema), ...errors({ write: true, body: true }) },
      }),
      async (c) => {
        const userId = c.get("userId");
        const { name } = c.req.valid("json");
        const token = `bbt_${
          crypto.getRandomValues(new Uint8Array(24)).toBase64({ alphabet: "base64url", omitPadding: true })
        }`;
        const hash = await tokenHash(token);
        const rec = await records.put(hash, () => ({ id: newId("t"), userId, name, createdAt: now() }));
        return c.json({ ...rec, token }, 201);
      },
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{id}",
        tags,
        summary: "Revoke an API token",
        ...write,
        request: { params: idParams },
        responses: { 204: { description: "revoked" }, ...errors({ params: true, write: true }) },
      }),
      async (c) => {
        const userId = c.get("userId");
        const { id } = c.req.valid("param");
        const hash = (await kv.get<string>(keys.tokenByUser(userId, id))).value;
        if (!hash || !await records.delete(hash, (t) => t.userId === userId && t.id === id)) {
          throw new ApiError(404, "not_found", `no token ${id}`);
        }
        return c.body(null, 204);
      },
    );
}
