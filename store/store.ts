/** A value bound to a `{name:Type}` placeholder. Dates are sent as UTC `YYYY-MM-DD hh:mm:ss.sss`. */
export type ParamValue = string | number | boolean | bigint | Date | null | readonly ParamValue[];

/** Values for the `{name:Type}` placeholders of one statement. */
export type Params = Readonly<Record<string, ParamValue>>;

/** One row to insert: column name to JSON-serializable value (times as epoch milliseconds). */
export type Row = Readonly<Record<string, unknown>>;

/** Options of one insert. */
export interface InsertOptions {
  /**
   * Insert deduplication token: a block re-sent with the same token is dropped by tables that keep a
   * deduplication window (ticks do), so replaying a write-ahead log never stores a batch twice.
   */
  dedupToken?: string;
}

/**
 * The durable store: one small surface over ClickHouse, the same for the embedded and the HTTP driver.
 *
 * SQL text never carries values: every value goes in `params` and is bound server-side to a `{name:Type}`
 * placeholder. Failures throw {@link StoreError}.
 */
export interface Store {
  /** Which driver serves this store. */
  readonly driver: "embedded" | "http";
  /** Database every unqualified table name refers to. */
  readonly database: string;
  /** Resolves when the engine answers a trivial query; throws {@link StoreError} otherwise. */
  ping(): Promise<void>;
  /** Runs a statement that returns no rows (DDL, ALTER, INSERT ... SELECT). */
  exec(sql: string, params?: Params): Promise<void>;
  /**
   * Runs a SELECT and returns its rows as objects (64-bit integers as JSON numbers).
   *
   * ClickHouse lets an alias shadow a column everywhere in the query: after `toUnixTimestamp64Milli(time) AS time`,
   * a bare `time` in WHERE is the alias. Qualify the column (`ticks.time`) in such filters.
   */
  query<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
  /** Inserts many rows into `table` in one block (JSONEachRow); columns left out take their defaults. */
  insert(table: string, rows: readonly Row[], options?: InsertOptions): Promise<void>;
  /** Inserts rows already encoded as JSONEachRow (one object per line, newline-terminated) in one block. */
  insertJsonEachRow(table: string, payload: Uint8Array, options?: InsertOptions): Promise<void>;
  /** Releases the connection; further calls throw. */
  close(): Promise<void>;
}

/** A failure reported by ClickHouse or by the transport to it. */
export class StoreError extends Error {
  override name = "StoreError";
  /** ClickHouse's numeric error code when the engine gave one (60 = unknown table, 62 = syntax error, ...). */
  readonly code: number | undefined;

  constructor(message: string, code?: number, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throws unless `name` is a plain identifier (table or database name), which is then safe to place in SQL text. */
export function assertIdentifier(name: string, what = "identifier"): string {
  if (!IDENTIFIER.test(name)) throw new StoreError(`invalid ${what} ${JSON.stringify(name)}`);
  return name;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):[^{}]+\}/g;

/**
 * Checks that `params` has exactly the names of the `{name:Type}` placeholders in `sql`, and encodes the values the
 * way both drivers send them (Dates as UTC text, bigints as decimal strings).
 *
 * @example
 * ```ts
 * bindParams("SELECT * FROM ticks WHERE symbol = {symbol:String}", { symbol: "AAPL" });
 * ```
 */
export function bindParams(sql: string, params: Params = {}): Record<string, unknown> {
  const wanted = new Set([...sql.matchAll(PLACEHOLDER)].map((m) => m[1]!));
  for (const name of wanted) {
    if (!(name in params)) throw new StoreError(`missing parameter {${name}} for query`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    if (!wanted.has(name)) throw new StoreError(`parameter ${name} has no {${name}:Type} placeholder in the query`);
    out[name] = encodeParam(value);
  }
  return out;
}

function encodeParam(v: ParamValue): unknown {
  if (v instanceof Date) return v.toISOString().replace("T", " ").replace("Z", "");
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(encodeParam);
  return v;
}

/** Encodes rows as JSONEachRow text (one JSON object per line). */
export function toJsonEachRow(rows: readonly Row[]): string {
  let out = "";
  for (const row of rows) out += JSON.stringify(row, (_k, v) => typeof v === "bigint" ? v.toString() : v) + "\n";
  return out;
}

/** Turns an engine or transport failure into a {@link StoreError} with ClickHouse's code and a one-line message. */
export function toStoreError(err: unknown, context: string): StoreError {
  if (err instanceof StoreError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const cause = err as { clickhouseCode?: unknown; code?: unknown };
  let code: number | undefined;
  if (typeof cause.clickhouseCode === "number") code = cause.clickhouseCode;
  else if (typeof cause.code === "string" && /^\d+$/.test(cause.code)) code = Number(cause.code);
  else {
    const m = /Code: (\d+)/.exec(raw);
    if (m) code = Number(m[1]);
  }
  // ClickHouse messages can carry a stack trace after the first line; keep the part a person reads.
  const firstLine = raw.split("\n").find((l) => l.trim() !== "")?.trim() ?? "unknown error";
  const message = firstLine.length > 500 ? firstLine.slice(0, 500) + "…" : firstLine;
  return new StoreError(`${context}: ${message}`, code, { cause: err });
}
