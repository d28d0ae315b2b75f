import { OpenAPIHono } from "@hono/zod-openapi";
import type { Env, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { ApiError } from "../errors.ts";
import { CSRF_HEADER, type IdentityVars } from "../identity.ts";

/** What every API handler may read from its context: the caller, set by the identity middleware. */
export type ApiEnv = { Variables: IdentityVars };

/** Largest JSON body any endpoint takes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The reference to the one error body (`{"error":{"code","message","issues?"}}`) in the document's components. */
export const ERROR_REF = { $ref: "#/components/schemas/Error" } as const;
/**
 * An error response declaration: the one error body, with what this status means for the route.
 *
 * @param description when the route answers with it
 * @returns an OpenAPI response object for `createRoute`'s `responses`
 */
export const error = (description: string) => ({
  description,
  content: { "application/json": { schema: ERROR_REF } },
});

/**
 * A router whose routes are declared with `createRoute`: params, query and body are validated by the declared zod
 * schemas, and a failure is thrown as the ZodError itself so the app's one `onError` answers it (400, each field
 * named), as it does for every other error.
 *
 * @returns an empty router to declare routes on and mount with `route()`
 * @example
 * ```ts
 * const r = apiRouter().openapi(createRoute({ method: "get", path: "/", responses: { 200: json(schema, "ok") } }), h);
 * ```
 */
export function apiRouter<E extends Env = ApiEnv>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({
    defaultHook: (result) => {
      if (!result.success) throw result.error;
    },
  });
}

/**
 * A JSON response declaration.
 *
 * @param schema the zod schema of the body, also the type the handler must answer with
 * @param description what the response means
 * @returns an OpenAPI response object for `createRoute`'s `responses`
 */
export function json<S extends z.ZodType>(schema: S, description = "success") {
  return { description, content: { "application/json": { schema } } };
}

/** How a route learns who calls it; both the middleware it runs and the `security` it documents come from here. */
export type Access =
  /** No identity (health, jobs, metrics). */
  | "public"
  /** Reads as a user: a token or the cookie, issued on the first visit. */
  | "user"
  /** Changes a user's data: a token, or an existing cookie plus the CSRF header. */
  | "write";

/**
 * The identity part of a route declaration: the middleware that attaches the caller and the `security` the document
 * shows for it, so the two cannot disagree.
 *
 * @param access who may call the route
 * @param who the identity middleware (routes/identity.ts); unused for public routes
 * @param o `json`: the route takes a JSON body, read and capped ({@link jsonBody}) once the caller is known
 * @returns `middleware` and `security` to spread into `createRoute`
 */
export function access(access: "public"): { security: [] };
export function access(
  access: Exclude<Access, "public">,
  who: MiddlewareHandler<ApiEnv>,
  o?: { json?: boolean },
): { middleware: MiddlewareHandler<ApiEnv>[]; security: Record<string, string[]>[] };
export function access(access: Access, who?: MiddlewareHandler<ApiEnv>, o: { json?: boolean } = {}) {
  if (access === "public") return { security: [] };
  return {
    middleware: o.json ? [who!, jsonBody] : [who!],
    // A read works without credentials too (the first visit is given a cookie): `{}` says so.
    security: access === "write" ? [{ token: [] }, { cookie: [], csrf: [] }] : [{ token: [] }, { cookie: [] }, {}],
  };
}

/**
 * The error responses a route can give, besides success: 400 always, 404 for a route with an id or symbol in its
 * path, 401/403/409 for writes, 413/415 for a body.
 */
export function errors(o: { params?: boolean; write?: boolean; body?: boolean } = {}) {
  return {
    400: error("invalid input; `issues` names each field"),
    ...(o.params ? { 404: error("no such record for this caller") } : {}),
    ...(o.write
      ? {
        401: error("no identity yet, or an unknown token"),
        403: error(`cookie write without the ${CSRF_HEADER} header, or cross-site`),
        409: error("per-user limit reached, or a concurrent change"),
      }
      : {}),
    ...(o.body
      ? {
        413: error(`the body is larger than ${MAX_BODY_BYTES} bytes`),
        415: error("the body is not declared as JSON"),
      }
      : {}),
  };
}

/**
 * Middleware of a route that takes a JSON body, before its validator: the size cap (Hono's body limit: the declared
 * length, or the bytes counted as they arrive when the body is chunked), 415 unless the body is declared JSON, and 400
 * `bad_json` when it does not parse. The parsed body is cached on the request, where the validator reads it.
 */
const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError(413, "payload_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`);
  },
});
export const jsonBody: MiddlewareHandler = (c, next) =>
  limit(c, async () => {
    if (!/^application\/json\b/i.test(c.req.header("Content-Type") ?? "")) {
      throw new ApiError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");
    }
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await c.req.arrayBuffer()));
    } catch {
      throw new ApiError(400, "bad_json", "the body is not valid JSON");
    }
    c.req.bodyCache.json = Promise.resolve(body);
    await next();
  });
