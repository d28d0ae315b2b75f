import type { OpenAPIHono } from "@hono/zod-openapi";
import type { BlankEnv } from "hono/types";
import { z } from "zod";
import { errorBodySchema } from "../schema/health.ts";
import { CSRF_HEADER, USER_COOKIE } from "./identity.ts";

type Json = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of the REST API, generated from the routes as `app` declares them (routes/api/declare.ts):
 * parameters, bodies, responses and security come from the same `createRoute` declarations whose zod schemas
 * validate each request, so the document cannot drift from the handlers.
 *
 * @param app the app, with every route mounted
 * @returns the document, without `servers` (the caller names the origin it was fetched from)
 * @example
 * ```ts
 * const doc = openApiDocument(app);
 * doc.paths["/api/v1/history"].get.parameters; // symbol, from, to, interval
 * ```
 */
export function openApiDocument(app: OpenAPIHono<BlankEnv>): Json {
  const registry = app.openAPIRegistry;
  const { $schema: _, ...error } = z.toJSONSchema(errorBodySchema) as Json;
  registry.registerComponent("schemas", "Error", error);
  registry.registerComponent("securitySchemes", "token", {
    type: "http",
    scheme: "bearer",
    description: "an API token (bbt_…) from POST /api/v1/tokens",
  });
  registry.registerComponent("securitySchemes", "cookie", {
    type: "apiKey",
    in: "cookie",
    name: USER_COOKIE,
    description: "the signed identity cookie, issued on the first visit",
  });
  registry.registerComponent("securitySchemes", "csrf", {
    type: "apiKey",
    in: "header",
    name: CSRF_HEADER,
    description: "must be 1 on cookie writes",
  });
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Breadboard API",
      version: "1",
      description: "Live quotes, candles, alerts, rules and watchlists. Times are epoch milliseconds. Real-time data " +
        "is on the WebSocket /ws/realtime.",
    },
  }) as unknown as Json;
  // OpenAPI 3.1 names a license by its SPDX identifier; the generator's types know only 3.0's url form.
  (doc.info as Json).license = { name: "MIT", identifier: "MIT" };
  // Stable operation ids (getApiV1RulesId), which the generator leaves out.
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      op.operationId ??= `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch?: string) => ch?.toUpperCase() ?? "")}`;
    }
  }
  return doc;
}
