import {
  assertIdentifier,
  bindParams,
  type InsertOptions,
  type Params,
  type Row,
  type Store,
  StoreError,
  toJsonEachRow,
  toStoreError,
} from "./store.ts";

type ChdbModule = typeof import("chdb");
type Session = InstanceType<ChdbModule["Session"]>;

/**
 * libchdb binds one data directory per process. Every embedded store in this process shares this one session;
 * operations are serialized on it so a `USE` for one database never interleaves with another store's query.
 */
interface Shared {
  path: string;
  session: Session;
  open: number;
  currentDb: string | undefined;
  tail: Promise<unknown>;
}

let shared: Shared | undefined;

/** Options of {@link openEmbeddedStore}. */
export interface EmbeddedOptions {
  /** Directory chDB keeps its data in (created if missing). One per process. */
  path: string;
  /** Database to create if missing and to run every statement in. */
  database: string;
}

/**
 * Opens the embedded ClickHouse (chDB) store.
 *
 * chDB is imported here, on first use, so a process configured with CLICKHOUSE_URL (and a Deno Deploy build) never
 * loads the native addon. Every call is async and runs off the event loop. Two stores in one process may use
 * different databases but must share `path`; a second path throws {@link StoreError}.
 *
 * @example
 * ```ts
 * const store = await openEmbeddedStore({ path: "./data/chdb", database: "breadboard" });
 * await store.query<{ n: number }>("SELECT count() AS n FROM ticks");
 * await store.close();
 * ```
 */
export async function openEmbeddedStore(options: EmbeddedOptions): Promise<Store> {
  const database = assertIdentifier(options.database, "database name");
  if (shared && shared.path !== options.path) {
    throw new StoreError(
      `embedded ClickHouse is already open at ${shared.path}; one process holds one data directory (asked for ${options.path})`,
    );
  }
  if (!shared) {
    await Deno.mkdir(options.path, { recursive: true });
    let chdb: ChdbModule;
    try {
      chdb = await import("chdb");
    } catch (err) {
      throw new StoreError(
        `cannot load embedded ClickHouse (npm package chdb): ${(err as Error).message}. Run 'deno task install'.`,
        undefined,
        { cause: err },
      );
    }
    let session: Session;
    try {
      session = new chdb.Session(options.path);
    } catch (err) {
      throw toStoreError(err, `cannot open embedded ClickHouse at ${options.path}`);
    }
    shared = { path: options.path, session, open: 0, currentDb: undefined, tail: Promise.resolve() };
  }
  const s = shared;
  s.open++;
  const scratch = `${s.path}/insert-scratch`;
  if (!/^[^'\\]+$/.test(scratch)) {
    s.open--;
    throw new StoreError(`embedded ClickHouse path ${s.path} must not contain quotes or backslashes`);
  }
  await Deno.mkdir(scratch, { recursive: true });
  let closed = false;

  /**
   * Runs `fn` after every earlier operation on the shared session, with `database` selected (unless `selectDb` is
   * false: creating the database must not select it first).
   */
  function serialized<T>(context: string, fn: (session: Session) => Promise<T>, selectDb = true): Promise<T> {
    if (closed) return Promise.reject(new StoreError("store is closed"));
    const run = async () => {
      try {
        if (selectDb && s.currentDb !== database) {
          await s.session.queryAsync(`USE \`${database}\``);
          s.currentDb = database;
        }
        return await fn(s.session);
      } catch (err) {
        throw toStoreError(err, context);
      }
    };
    const result = s.tail.then(run, run);
    s.tail = result.catch(() => {});
    return result;
  }

  // Create the database before anything selects it.
  try {
    await serialized(`cannot create database ${database}`, async (session) => {
      await session.queryAsync(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    }, false);
  } catch (err) {
    s.open--;
    throw err;
  }

  /**
   * Inserts JSONEachRow bytes. chDB parses a file it reads itself about twice as fast as a buffer handed over from
   * JavaScript, so the payload is written to a scratch file under the data directory and read with FROM INFILE
   * (the table's own column types, no inference). The path and token are ours, checked against a strict pattern,
   * and quoted: INFILE takes only a literal.
   */
  function insertPayload(table: string, payload: Uint8Array, options?: InsertOptions): Promise<void> {
    const token = options?.dedupToken;
    if (token !== undefined && !/^[A-Za-z0-9:._-]{1,200}$/.test(token)) {
      return Promise.reject(
        new StoreError(`insert deduplication token ${JSON.stringify(token)} has unsafe characters`),
      );
    }
    return serialized(`insert into ${table} failed`, async (session) => {
      const file = `${scratch}/${crypto.randomUUID()}.jsonl`;
      await Deno.writeFile(file, payload);
      try {
        const settings = token === undefined ? "" : ` SETTINGS insert_deduplication_token = '${token}'`;
        await session.queryAsync(`INSERT INTO \`${table}\` FROM INFILE '${file}'${settings} FORMAT JSONEachRow`);
      } finally {
        await Deno.remove(file).catch(() => {});
      }
    });
  }

  return {
    driver: "embedded",
    database,
    ping() {
      return serialized("ping", async (session) => {
        await session.queryAsync("SELECT 1");
      });
    },
    async exec(sql: string, params?: Params) {
      const bound = bindParams(sql, params);
      await serialized("exec failed", async (session) => {
        if (Object.keys(bound).length === 0) await session.queryAsync(sql);
        else await session.queryBindAsync(sql, bound);
      });
    },
    async query<T>(sql: string, params?: Params) {
      const bound = bindParams(sql, params);
      return await serialized("query failed", async (session) => {
        const result = Object.keys(bound).length === 0
          ? await session.queryAsync(sql, { format: "JSONEachRow" })
          : await session.queryBindAsync(sql, bound, { format: "JSONEachRow" });
        return parseJsonEachRow<T>(result.text());
      });
    },
    async insert(table: string, rows: readonly Row[], options?: InsertOptions) {
      assertIdentifier(table, "table name");
      if (rows.length === 0) return;
      await insertPayload(table, new TextEncoder().encode(toJsonEachRow(rows)), options);
    },
    async insertJsonEachRow(table: string, payload: Uint8Array, options?: InsertOptions) {
      assertIdentifier(table, "table name");
      if (payload.length === 0) return;
      await insertPayload(table, payload, options);
    },
    async close() {
      if (closed) return;
      // Wait for queued operations, then release the session when the last store using it closes.
      await s.tail;
      closed = true;
      s.open--;
      if (s.open === 0 && shared === s) {
        s.session.close();
        shared = undefined;
      }
    },
  };
}

/** Parses JSONEachRow text into objects. */
export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split("\n")) {
    if (line !== "") rows.push(JSON.parse(line) as T);
  }
  return rows;
}
