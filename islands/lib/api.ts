/** A failed API call: the server's error code, message and per-field issues. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/**
 * Calls the REST API as the signed-in browser: same-origin cookie, the CSRF header on writes, JSON both ways. Throws
 * {@link ApiCallError} for an error answer (and for a network failure, with status 0).
 */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: {
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(method === "GET" ? {} : { "X-Breadboard-CSRF": "1" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ApiCallError(0, "network", `the server did not answer (${(err as Error).message})`);
  }
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error ?? {};
    throw new ApiCallError(res.status, e.code ?? "error", e.message ?? `HTTP ${res.status}`, e.issues ?? []);
  }
  return data as T;
}

/** The issues of `err` by field path, for messages beside the fields. */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof ApiCallError) {
    for (const i of err.issues) out[i.path] ??= i.message;
    if (err.issues.length === 0) out[""] = err.message;
  } else out[""] = String(err);
  return out;
}
