import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { KvBusyError, WriteConflictError } from "../actors/kv_versioned.ts";
import { LimitError } from "../actors/user_quota.ts";
import { StoreError } from "../store/store.ts";
import { ChannelError } from "../notify/channel_book.ts";
import { NotBuiltError } from "./pages/render.ts";
import type { ErrorBody } from "../schema/health.ts";

/** An HTTP failure with a machine-readable code and, for validation failures, the fields at fault. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(status, { message });
  }
}

const CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "invalid_input",
  429: "rate_limited",
  503: "unavailable",
};

/** Builds the JSON error body of the contract: `{"error":{"code","message","issues?"}}`. */
export function errorBody(code: string, message: string, issues?: ErrorBody["error"]["issues"]): ErrorBody {
  return { error: { code, message, ...(issues && issues.length > 0 ? { issues } : {}) } };
}

/**
 * The one place errors become responses: {@link ApiError} and Hono's HTTPException keep their status, a ZodError is
 * a 400 naming each field, a lost KV write race a 409, a KV locked through every retry a 503, a channel the server
 * cannot save a 400 (a full quota 409) on its field, missing island bundles a 503; anything else is a 500 whose detail
 * goes to the log, not to the client.
 */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    return c.json(errorBody(err.code, err.message, err.issues), err.status);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return c.json(errorBody(CODES[status] ?? "error", err.message || "request failed"), status);
  }
  if (err instanceof WriteConflictError) return c.json(errorBody("conflict", err.message), 409);
  if (err instanceof KvBusyError) {
    // Nothing was written: the client may send the same request again.
    console.error(JSON.stringify({ level: "warn", msg: "KV busy", path: c.req.path, error: err.message }));
    c.header("Retry-After", "1");
    return c.json(errorBody("unavailable", err.message), 503);
  }
  if (err instanceof LimitError) {
    return c.json(errorBody("limit_reached", err.message, [{ path: err.limit, message: err.message }]), 409);
  }
  if (err instanceof ChannelError) {
    const code = err.status === 409 ? "limit_reached" : "invalid_input";
    return c.json(errorBody(code, err.message, [{ path: err.field, message: err.message }]), err.status);
  }
  if (err instanceof NotBuiltError) return c.text(err.message, 503);
  if (err instanceof StoreError) {
    // The store being down or refusing is an outage of this server, not a fault of the request.
    console.error(JSON.stringify({ level: "error", msg: "store error", path: c.req.path, error: err.message }));
    c.header("Retry-After", "5");
    return c.json(errorBody("unavailable", "the history store is not available; try again shortly"), 503);
  }
  if (err instanceof z.ZodError) {
    const issues = err.issues.map((i) => ({ path: i.path.join(".") || "(root)", message: i.message }));
    return c.json(errorBody("invalid_input", issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues), 400);
  }
  console.error(JSON.stringify({
    level: "error",
    msg: "unhandled request error",
    method: c.req.method,
    path: c.req.path,
    error: err.message,
    stack: err.stack,
  }));
  return c.json(errorBody("internal", "internal server error"), 500);
}

/** JSON 404 for any route the app does not serve. */
export function notFound(c: Context): Response {
  return c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404);
}
