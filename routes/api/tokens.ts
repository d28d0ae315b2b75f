import { Hono } from "hono";
import { z } from "zod";
import { keys } from "../../actors/keys.ts";
import { COLLECTION_LIMITS, commitRetrying, Quotas } from "../../actors/user_quota.ts";
import { ApiError } from "../errors.ts";
import { type IdentityVars, tokenHash } from "../identity.ts";
import { readJson } from "./body.ts";
import { idParam, newId } from "./ids.ts";

/** Most API tokens one user holds. */
export const MAX_TOKENS = COLLECTION_LIMITS.tokens;

/** Body of POST /api/v1/tokens. */
export const tokenInputSchema = z.object({
  name: z.string({ error: "name is required" }).trim().min(1, { error: "name must not be empty" })
    .max(64, { error: "name is at most 64 characters" }),
}).strict();

/** What is stored for a token, under the hash of its secret. The secret itself is never stored. */
export interface TokenRecord {
  id: string;
  userId: string;
  name: string;
  createdAt: number;
}

/**
 * /api/v1/tokens: API tokens for scripts. Creating one needs the browser identity (cookie + CSRF header) or another
 * token; the secret (`bbt_…`) is in the creation response only, and only its SHA-256 is kept. Revoking deletes it,
 * and the next request that presents it gets 401.
 */
export function tokenRoutes(
  kv: Deno.Kv,
  now: () => number = Date.now,
  quotas: Quotas = new Quotas(kv),
): Hono<{ Variables: IdentityVars }> {
  const list = async (userId: string): Promise<TokenRecord[]> => {
    // The user's index keys name the records; read in getMany rounds (KV takes at most 10 keys per call), not one
    // get per token.
    const hashes: string[] = [];
    for await (const e of kv.list<string>({ prefix: keys.tokenByUserPrefix(userId) })) hashes.push(e.value);
    const out: TokenRecord[] = [];
    for (let i = 0; i < hashes.length; i += 10) {
      const got = await kv.getMany<TokenRecord[]>(hashes.slice(i, i + 10).map((h) => keys.token(h)));
      for (const e of got) if (e.value) out.push(e.value);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  };
  return new Hono<{ Variables: IdentityVars }>()
    .get("/", async (c) => c.json({ tokens: await list(c.get("userId")) }))
    .post("/", async (c) => {
      const userId = c.get("userId");
      const { name } = tokenInputSchema.parse(await readJson(c));
      const token = `bbt_${
        crypto.getRandomValues(new Uint8Array(24)).toBase64({ alphabet: "base64url", omitPadding: true })
      }`;
      const hash = await tokenHash(token);
      const rec: TokenRecord = { id: newId("t"), userId, name, createdAt: now() };
      await commitRetrying(kv, async (op) => {
        op
          .check({ key: keys.token(hash), versionstamp: null })
          .set(keys.token(hash), rec)
          .set(keys.tokenByUser(userId, rec.id), hash);
        await quotas.stage(op, userId, { collection: "tokens", delta: 1 });
      }, "token");
      return c.json({ ...rec, token }, 201);
    })
    .delete("/:id", async (c) => {
      const userId = c.get("userId");
      const id = idParam.parse(c.req.param("id"));
      let found = true;
      await commitRetrying(kv, async (op) => {
        const idx = await kv.get<string>(keys.tokenByUser(userId, id));
        op.check(idx);
        if (!idx.value) return void (found = false);
        op.delete(keys.tokenByUser(userId, id)).delete(keys.token(idx.value));
        await quotas.stage(op, userId, { collection: "tokens", delta: -1 });
      }, "token");
      if (!found) throw new ApiError(404, "not_found", `no token ${id}`);
      return c.body(null, 204);
    });
}
