import { z } from "zod";
import {
  alertListSchema,
  createdTokenSchema,
  historySchema,
  jobsSchema,
  searchResultSchema,
  stockSchema,
  tokenSchema,
} from "../schema/api.ts";
import { errorBodySchema, healthSchema } from "../schema/health.ts";
import { ruleSchema } from "../schema/rule.ts";
import { symbolSchema } from "../schema/symbol.ts";
import { watchlistInputSchema, watchlistSchema } from "../schema/watchlist.ts";
import { idParam } from "./api/ids.ts";
import { jobsQuery } from "./api/jobs.ts";
import { notificationQuerySchema } from "./api/notifications.ts";
import { channelInputSchema, channelListSchema, channelViewSchema, deliveryListSchema } from "../schema/notify.ts";
import { alertsQuery, historyQuery } from "./api/market.ts";
import { searchQuery } from "./api/search.ts";
import { tokenInputSchema } from "./api/tokens.ts";
import { CSRF_HEADER, USER_COOKIE } from "./identity.ts";

type Json = Record<string, unknown>;

/** One operation of the API, described by the zod schemas its handler validates with. */
interface Operation {
  method: "get" | "post" | "put" | "delete";
  path: string;
  summary: string;
  tag: string;
  params?: Record<string, z.ZodType>;
  query?: z.ZodType;
  body?: Json;
  /** Status and body schema of success; no schema means no body. */
  ok: [number, z.ZodType?];
  /** Changes data: needs an existing identity and, with a cookie, the CSRF header. */
  write?: boolean;
}

/** JSON Schema (2020-12, as OpenAPI 3.1 uses) of a zod schema, as the client sends it or as the server answers. */
function jsonSchema(s: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Json;
  return rest;
}

/** The rule a client writes: every rule kind, without the `id` and `userId` the server assigns. */
function ruleBody(): Json {
  const full = jsonSchema(ruleSchema, "input");
  const strip = (v: Json): Json => {
    const { id: _i, userId: _u, ...props } = v.properties as Json;
    return { ...v, properties: props, required: (v.required as string[]).filter((r) => r !== "id" && r !== "userId") };
  };
  return { ...full, oneOf: (full.oneOf as Json[]).map(strip) };
}

function operations(): Operation[] {
  const symbol = { symbol: symbolSchema };
  const id = { id: idParam };
  const rules = z.object({ rules: z.array(ruleSchema) });
  const watchlists = z.object({ watchlists: z.array(watchlistSchema) });
  const tokens = z.object({ tokens: z.array(tokenSchema) });
  const rule = ruleBody();
  const list = jsonSchema(watchlistInputSchema, "input");
  const token = jsonSchema(tokenInputSchema, "input");
  const channel = jsonSchema(channelInputSchema, "input");
  const op = (
    method: Operation["method"],
    path: string,
    tag: string,
    summary: string,
    ok: Operation["ok"],
    more: Partial<Operation> = {},
  ): Operation => ({ method, path, tag, summary, ok, write: method !== "get", ...more });
  return [
    op("get", "/api/v1/health", "operations", "Store, KV, feed and bus health, from background probes", [
      200,
      healthSchema,
    ]),
    op("get", "/api/v1/health/live", "operations", "Liveness: 200 while the process serves HTTP; touches nothing", [
      200,
      z.object({ status: z.literal("alive") }),
    ]),
    op("get", "/api/v1/health/ready", "operations", "Readiness: 200 when store, KV and bus answer, else 503", [
      200,
      z.object({ ready: z.boolean(), store: z.boolean(), kv: z.boolean(), bus: z.boolean().optional() }),
    ]),
    op("get", "/api/v1/jobs", "operations", "Latest history-job runs with their data-quality findings", [
      200,
      jobsSchema,
    ], {
      query: jobsQuery,
    }),
    op("get", "/api/v1/stocks/{symbol}", "market", "Latest quote and rolling windows of a symbol", [200, stockSchema], {
      params: symbol,
    }),
    op("get", "/api/v1/history", "market", "OHLCV candles of a symbol over a range", [200, historySchema], {
      query: historyQuery,
    }),
    op("get", "/api/v1/symbols/search", "market", "Find symbols by ticker or company name", [200, searchResultSchema], {
      query: searchQuery,
    }),
    op("get", "/api/v1/alerts", "alerts", "Alerts of the caller's rules and the built-in rule, newest first", [
      200,
      alertListSchema,
    ], { query: alertsQuery }),
    op("get", "/api/v1/rules", "alerts", "The caller's alert rules", [200, rules]),
    op("post", "/api/v1/rules", "alerts", "Create an alert rule", [201, ruleSchema], { body: rule }),
    op("get", "/api/v1/rules/{id}", "alerts", "One of the caller's rules", [200, ruleSchema], { params: id }),
    op("put", "/api/v1/rules/{id}", "alerts", "Replace one of the caller's rules", [200, ruleSchema], {
      params: id,
      body: rule,
    }),
    op("delete", "/api/v1/rules/{id}", "alerts", "Delete one of the caller's rules", [204], { params: id }),
    op("get", "/api/v1/watchlists", "watchlists", "The caller's watchlists", [200, watchlists]),
    op("post", "/api/v1/watchlists", "watchlists", "Create a watchlist", [201, watchlistSchema], { body: list }),
    op("get", "/api/v1/watchlists/{id}", "watchlists", "One of the caller's watchlists", [200, watchlistSchema], {
      params: id,
    }),
    op("put", "/api/v1/watchlists/{id}", "watchlists", "Rename, reorder or change a watchlist's symbols", [
      200,
      watchlistSchema,
    ], { params: id, body: list }),
    op("delete", "/api/v1/watchlists/{id}", "watchlists", "Delete a watchlist", [204], { params: id }),
    op("get", "/api/v1/tokens", "identity", "The caller's API tokens, without their secrets", [200, tokens]),
    op("post", "/api/v1/tokens", "identity", "Create an API token; its secret is in this response only", [
      201,
      createdTokenSchema,
    ], { body: token }),
    op("delete", "/api/v1/tokens/{id}", "identity", "Revoke an API token", [204], { params: id }),
    op("get", "/api/v1/channels", "notifications", "The caller's notification channels and what the server offers", [
      200,
      channelListSchema,
    ]),
    op(
      "post",
      "/api/v1/channels",
      "notifications",
      "Add a webhook, email or push channel (webhook secret shown once)",
      [
        201,
        channelViewSchema,
      ],
      { body: channel },
    ),
    op("delete", "/api/v1/channels/{id}", "notifications", "Remove a channel", [204], { params: id }),
    op("post", "/api/v1/channels/{id}/test", "notifications", "Queue a test notification to a channel", [
      202,
      z.object({ key: z.string() }),
    ], { params: id }),
    op("get", "/api/v1/notifications", "notifications", "Delivery records, newest first: dead letters with reasons", [
      200,
      deliveryListSchema,
    ], { query: notificationQuerySchema }),
  ];
}

/**
 * The OpenAPI 3.1 document of the REST API. Parameters, bodies and responses are converted from the zod schemas the
 * handlers validate and answer with, so the document cannot drift from the code.
 */
export function openApiDocument(): Json {
  const error = { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  const paths: Record<string, Record<string, Json>> = {};
  for (const o of operations()) {
    const parameters: Json[] = [];
    for (const [name, s] of Object.entries(o.params ?? {})) {
      parameters.push({ name, in: "path", required: true, schema: jsonSchema(s, "input") });
    }
    if (o.query) {
      const q = jsonSchema(o.query, "input");
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, s] of Object.entries(q.properties as Record<string, Json>)) {
        parameters.push({ name, in: "query", required: required.has(name), schema: s });
      }
    }
    const [status, body] = o.ok;
    const responses: Json = {
      [status]: body
        ? { description: "success", content: { "application/json": { schema: jsonSchema(body, "output") } } }
        : { description: "success, no body" },
      "400": { description: "invalid input; `issues` names each field", ...error },
      ...(o.params ? { "404": { description: "no such record for this caller", ...error } } : {}),
      ...(o.write
        ? {
          "401": { description: "no identity yet, or an unknown token", ...error },
          "403": { description: `cookie write without the ${CSRF_HEADER} header, or cross-site`, ...error },
          "409": { description: "per-user limit reached, or a concurrent change", ...error },
        }
        : {}),
    };
    (paths[o.path] ??= {})[o.method] = {
      summary: o.summary,
      tags: [o.tag],
      operationId: `${o.method}${o.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch?: string) => ch?.toUpperCase() ?? "")}`,
      ...(parameters.length ? { parameters } : {}),
      ...(o.body ? { requestBody: { required: true, content: { "application/json": { schema: o.body } } } } : {}),
      ...(o.write
        ? {
          security: [{ token: [] }, { cookie: [], csrf: [] }],
        }
        : {}),
      responses,
    };
  }
  paths["/metrics"] = {
    get: {
      summary: "Prometheus metrics",
      tags: ["operations"],
      operationId: "getMetrics",
      responses: { "200": { description: "Prometheus text exposition", content: { "text/plain": {} } } },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Breadboard API",
      version: "1",
      description: "Live quotes, candles, alerts, rules and watchlists. Times are epoch milliseconds. Real-time data " +
        "is on the WebSocket /ws/realtime.",
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(errorBodySchema, "output") },
      securitySchemes: {
        token: { type: "http", scheme: "bearer", description: "an API token (bbt_…) from POST /api/v1/tokens" },
        cookie: { type: "apiKey", in: "cookie", name: USER_COOKIE, description: "the signed identity cookie" },
        csrf: { type: "apiKey", in: "header", name: CSRF_HEADER, description: "must be 1 on cookie writes" },
      },
    },
  };
}
