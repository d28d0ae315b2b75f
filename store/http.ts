import { createClient } from "@clickhouse/client-web";
import {
  assertIdentifier,
  bindParams,
  type InsertOptions,
  type Params,
  type Row,
  type Store,
  StoreError,
  toStoreError,
} from "./store.ts";

/** Options of {@link openHttpStore}. */
export interface HttpOptions {
  /** ClickHouse HTTP interface, e.g. http://127.0.0.1:8123. */
  url: string;
  user: string;
  password: string;
  /** Database to create if missing and to run every statement in. */
  database: string;
  /** Per-request timeout in milliseconds (default 30 s). */
  requestTimeoutMs?: number;
}

/**
 * Opens the HTTP store: @clickhouse/client-web against a ClickHouse server (what Deno Deploy uses).
 *
 * Parameters are sent as `param_<name>` alongside the query, never spliced into it; servers older than 19.x do not
 * know query parameters and answer with a {@link StoreError}. Creates the database if it is missing.
 *
 * @example
 * ```ts
 * const store = await openHttpStore({
 *   url: "http://127.0.0.1:8123",
 *   user: "default",
 *   password: "",
 *   database: "breadboard",
 * });
 * await store.ping();
 * ```
 */
export async function openHttpStore(options: HttpOptions): Promise<Store> {
  const database = assertIdentifier(options.database, "database name");
  const base = {
    url: options.url,
    username: options.user,
    password: options.password,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 as const },
  };
  const bootstrap = createClient(base);
  try {
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
  } catch (err) {
    throw describeTransport(err, options.url, `cannot create database ${database}`);
  } finally {
    await bootstrap.close();
  }
  const client = createClient({ ...base, database });
  let closed = false;
  const guard = () => {
    if (closed) throw new StoreError("store is closed");
  };

  const store: Store = {
    driver: "http",
    database,
    async ping() {
      guard();
      try {
        await client.query({ query: "SELECT 1", format: "JSONEachRow" }).then((r) => r.json());
      } catch (err) {
        throw describeTransport(err, options.url, "ping");
      }
    },
    async exec(sql: string, params?: Params) {
      guard();
      const query_params = bindParams(sql, params);
      try {
        await client.command({ query: sql, query_params });
      } catch (err) {
        throw describeTransport(err, options.url, "exec failed");
      }
    },
    async query<T>(sql: string, params?: Params) {
      guard();
      const query_params = bindParams(sql, params);
      try {
        const rs = await client.query({ query: sql, query_params, format: "JSONEachRow" });
        return await rs.json<T>();
      } catch (err) {
        throw describeTransport(err, options.url, "query failed");
      }
    },
    async insert(table: string, rows: readonly Row[], opts?: InsertOptions) {
      guard();
      assertIdentifier(table, "table name");
      if (rows.length === 0) return;
      try {
        await client.insert({
          table,
          values: rows as Row[],
          format: "JSONEachRow",
          ...(opts?.dedupToken === undefined
            ? {}
            : { clickhouse_settings: { insert_deduplication_token: opts.dedupToken } }),
        });
      } catch (err) {
        throw describeTransport(err, options.url, `insert into ${table} failed`);
      }
    },
    async insertJsonEachRow(table: string, payload: Uint8Array, opts?: InsertOptions) {
      const rows = new TextDecoder().decode(payload).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
      await store.insert(table, rows, opts);
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
  return store;
}

/** Names the server when it cannot be reached at all, otherwise passes ClickHouse's own error through. */
function describeTransport(err: unknown, url: string, context: string): StoreError {
  const e = toStoreError(err, context);
  if (e.code === undefined && (err instanceof TypeError || /fetch|connect|network|abort|timeout/i.test(e.message))) {
    const reason = err instanceof Error ? err.message : String(err);
    return new StoreError(`${context}: cannot reach ClickHouse at ${redact(url)} (${reason})`, undefined, {
      cause: err,
    });
  }
  return e;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    u.username = "";
    return u.toString();
  } catch {
    return "the configured URL";
  }
}
