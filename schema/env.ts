import { z } from "zod";
import { SYMBOL_PATTERN } from "./symbol.ts";

/** The data feeds a process can run. */
export { FEEDS } from "./feeds.ts";
import { FEEDS } from "./feeds.ts";

/**
 * What one process does: `all` (one process: feeds, actors, store writer, jobs, outbox, pages, REST, WebSocket),
 * `ingest` (feeds, actors, writer, jobs, outbox; serves health and metrics) or `web` (pages, REST, WebSocket only).
 */
export const ROLES = ["all", "ingest", "web"] as const;
/** What one process does. */
export type Role = (typeof ROLES)[number];

/** Symbols tracked when SYMBOLS is unset. */
export const DEFAULT_SYMBOLS = ["AAPL", "NVDA", "TSLA", "META", "AMZN", "GOOGL", "MSFT"] as const;

const CRON_RANGES: readonly [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

/** True when `field` is a valid cron field (`*`, `n`, `a-b`, with `/step`, comma lists) within `[min, max]`. */
function validCronField(field: string, [min, max]: [number, number]): boolean {
  return field.split(",").every((part) => {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return false;
    const [, , lo, hi, step] = m;
    const nums = [lo, hi].filter((n): n is string => n !== undefined).map(Number);
    if (nums.some((n) => n < min || n > max)) return false;
    if (nums.length === 2 && nums[0]! > nums[1]!) return false;
    return step === undefined || Number(step) > 0;
  });
}

/** True when `expr` is a five-field cron expression (minute hour day-of-month month day-of-week), as Deno.cron takes. */
export function isCronExpression(expr: string): boolean {
  const fields = expr.trim().split(/\s+/);
  return fields.length === 5 && fields.every((f, i) => validCronField(f, CRON_RANGES[i]!));
}

function httpUrl(what: string) {
  return z.url({ protocol: /^https?$/, error: `${what} must be an http:// or https:// URL` });
}

/** An integer variable within [min, max]; `message` is the one error every bad value gets. */
function intVar(min: number, max: number, message: string) {
  return z
    .string()
    .regex(/^\d{1,15}$/, { error: message })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: message });
}

function wsUrl(what: string) {
  return z.url({ protocol: /^wss?$/, error: `${what} must be a ws:// or wss:// URL` });
}

/**
 * Every environment variable of the operator contract, parsed in one place.
 *
 * Input is the raw environment (empty strings count as unset). Output is the typed {@link Config}.
 * Parse with {@link parseEnv}, which turns failures into one readable line per variable.
 */
export const envSchema = z.object({
  PORT: intVar(0, 65535, "PORT must be an integer from 0 to 65535").default(8000),
  DATA_DIR: z.string().default("./data"),
  ROLE: z.enum(ROLES, { error: `ROLE must be one of ${ROLES.join(", ")}` }).default("all"),
  CLICKHOUSE_URL: httpUrl("CLICKHOUSE_URL").optional(),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, {
      error: "CLICKHOUSE_DATABASE must be a plain identifier (letters, digits, _; not starting with a digit)",
    })
    .default("breadboard"),
  FEED: z.enum(FEEDS, { error: `FEED must be one of ${FEEDS.join(", ")}` }).optional(),
  YAHOO_WS_URL: wsUrl("YAHOO_WS_URL").default("wss://streamer.finance.yahoo.com/?version=2"),
  YAHOO_API_BASE: httpUrl("YAHOO_API_BASE").optional(),
  MASSIVE_API_KEY: z.string().optional(),
  POLYGON_API_KEY: z.string().optional(),
  MASSIVE_WS_URL: wsUrl("MASSIVE_WS_URL").default("wss://socket.massive.com/stocks"),
  MASSIVE_API_BASE: httpUrl("MASSIVE_API_BASE").default("https://api.massive.com"),
  SYMBOLS: z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim().toUpperCase()).filter((x) => x !== ""))
    .refine((list) => list.length > 0 && list.every((x) => SYMBOL_PATTERN.test(x)), {
      error: "SYMBOLS must be a comma-separated list of ticker symbols (A-Z, 0-9 and . - ^ =, e.g. AAPL,BRK.B,^GSPC)",
    })
    .transform((list) => [...new Set(list)])
    .default([...DEFAULT_SYMBOLS]),
  ALERT_THRESHOLD: z
    .string()
    .regex(/^[-+]?\d+(\.\d+)?$/, { error: "ALERT_THRESHOLD must be a percentage between -100 and 0, e.g. -5.0" })
    .transform(Number)
    .refine((n) => n >= -100 && n < 0, { error: "ALERT_THRESHOLD must be a percentage between -100 and 0, e.g. -5.0" })
    .default(-5),
  SYNTHETIC_RATE: intVar(1, 1_000_000, "SYNTHETIC_RATE must be ticks per second, an integer from 1 to 1000000")
    .default(50),
  SYNTHETIC_ALWAYS_OPEN: z.enum(["true", "false"], { error: "SYNTHETIC_ALWAYS_OPEN must be true or false" })
    .transform((v) => v === "true").default(false),
  SYNTHETIC_HISTORY: z.enum(["true", "false"], { error: "SYNTHETIC_HISTORY must be true or false" })
    .transform((v) => v === "true").default(true),
  KV_PATH: z.string().optional(),
  ACTOR_LEASE_MS: intVar(300, 600_000, "ACTOR_LEASE_MS must be milliseconds, an integer from 300 to 600000")
    .default(15_000),
  RECORD_FILE: z.string().optional(),
  REPLAY_FILE: z.string().optional(),
  REPLAY_SPEED: z
    .string()
    .regex(/^\d+(\.\d+)?$/, { error: "REPLAY_SPEED must be a speed-up factor such as 1, 10 or 0.5 (0: no waiting)" })
    .transform(Number)
    .refine((n) => n <= 10_000, { error: "REPLAY_SPEED must be at most 10000 (0: no waiting)" })
    .default(1),
  HISTORICAL_FETCH_CRON: z
    .string()
    .refine(isCronExpression, {
      error: "HISTORICAL_FETCH_CRON must be a five-field cron expression in UTC, e.g. '0 0,6,12,18 * * *'",
    })
    .default("0 0,6,12,18 * * *"),
  SMTP_URL: z.url({
    protocol: /^smtps?$/,
    error: "SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587",
  }).optional(),
  SMTP_FROM: z.string().max(200).default("Breadboard <breadboard@localhost>"),
  NATS_URL: z.string().regex(/^((nats|tls|wss?):\/\/)?[^\s,]+(,((nats|tls|wss?):\/\/)?[^\s,]+)*$/, {
    error: "NATS_URL must be a NATS server address such as nats://127.0.0.1:4222 (comma-separated for a cluster)",
  }).optional(),
  NOTIFY_ALLOW_PRIVATE: z.enum(["true", "false"], { error: "NOTIFY_ALLOW_PRIVATE must be true or false" })
    .transform((v) => v === "true").default(false),
  NOTIFY_MAX_ATTEMPTS: intVar(1, 20, "NOTIFY_MAX_ATTEMPTS must be an integer from 1 to 20").default(6),
  NOTIFY_RETRY_MS: intVar(10, 3_600_000, "NOTIFY_RETRY_MS must be milliseconds, an integer from 10 to 3600000")
    .default(2_000),
  TRUST_PROXY: z.enum(["true", "false"], { error: "TRUST_PROXY must be true or false" })
    .transform((v) => v === "true").default(false),
  HTTP_GUARD: z.enum(["true", "false"], { error: "HTTP_GUARD must be true or false" })
    .transform((v) => v === "true").default(true),
  MAX_CONNECTIONS: intVar(16, 1_000_000, "MAX_CONNECTIONS must be an integer from 16 to 1000000").optional(),
  MAX_CONNECTIONS_PER_IP: intVar(1, 1_000_000, "MAX_CONNECTIONS_PER_IP must be an integer from 1 to 1000000")
    .default(256),
  HEADER_TIMEOUT_MS: intVar(100, 600_000, "HEADER_TIMEOUT_MS must be milliseconds, an integer from 100 to 600000")
    .default(10_000),
  IDLE_TIMEOUT_MS: intVar(100, 3_600_000, "IDLE_TIMEOUT_MS must be milliseconds, an integer from 100 to 3600000")
    .default(60_000),
  WS_MAX_CLIENTS: intVar(1, 1_000_000, "WS_MAX_CLIENTS must be an integer from 1 to 1000000").default(10_000),
  WS_MAX_CLIENTS_PER_IP: intVar(1, 1_000_000, "WS_MAX_CLIENTS_PER_IP must be an integer from 1 to 1000000")
    .default(64),
  WS_FLUSH_MS: intVar(10, 1_000, "WS_FLUSH_MS must be milliseconds, an integer from 10 to 1000").default(50),
  WS_ALLOWED_ORIGINS: z.string().transform((s) => s.split(",").map((x) => x.trim()).filter((x) => x !== ""))
    .refine((list) => list.every((o) => /^https?:\/\/[^/\s]+$/.test(o)), {
      error: "WS_ALLOWED_ORIGINS must be a comma-separated list of origins such as https://app.example.com",
    }).default([]),
  MAX_TRACKED_SYMBOLS: intVar(1, 1_000_000, "MAX_TRACKED_SYMBOLS must be an integer from 1 to 1000000")
    .default(5_000),
  MAX_SYMBOLS_PER_USER: intVar(1, 100_000, "MAX_SYMBOLS_PER_USER must be an integer from 1 to 100000").default(500),
  VAPID_SUBJECT: z.string().regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, {
    error: "VAPID_SUBJECT must be a mailto: address or an https:// URL that push services can contact",
  }).default("mailto:breadboard@localhost"),
});

/** Typed configuration of one process. */
export interface Config {
  port: number;
  role: Role;
  /**
   * Whose data this process handles: `live`, or the feed's name for demo and replayed data, which never share a
   * database, a write-ahead log, KV records or bus subjects with live data.
   */
  namespace: "live" | "synthetic" | "replay";
  /** NATS_URL: the bus between instances (required by ROLE=ingest and ROLE=web). */
  natsUrl?: string;
  dataDir: string;
  clickhouse: { url?: string; user: string; password: string; database: string };
  feed: (typeof FEEDS)[number];
  yahoo: { wsUrl: string; apiBase?: string };
  massive: { apiKey?: string; wsUrl: string; apiBase: string };
  symbols: string[];
  /** Ticks per second of the synthetic feed (SYNTHETIC_RATE). */
  syntheticRate: number;
  /** SYNTHETIC_ALWAYS_OPEN: the demo ticks outside the NYSE regular session too, labelled with the real session. */
  syntheticAlwaysOpen: boolean;
  /** SYNTHETIC_HISTORY: the demo writes five years of daily and 30 days of minute candles on first start. */
  syntheticHistory: boolean;
  /**
   * Deno KV (KV_PATH: a file, or a KV Connect URL). Default DATA_DIR/kv.sqlite3; for ROLE=web, unset means
   * `Deno.openKv()` (Deno Deploy's own KV). Processes that share it split the symbols.
   */
  kvPath?: string;
  /** How long an actor lease lasts without renewal (ACTOR_LEASE_MS). */
  actorLeaseMs: number;
  /** When set, every raw frame of a live feed is appended to this file (RECORD_FILE). */
  recordFile?: string;
  /** FEED=replay: the recorded file (REPLAY_FILE) and the speed-up (REPLAY_SPEED; 0 means as fast as possible). */
  replay: { file?: string; speed: number };
  alertThreshold: number;
  historicalFetchCron: string;
  /** Notification delivery: SMTP, NATS, the private-target switch, retries and the VAPID contact. */
  notify: {
    smtpUrl?: string;
    smtpFrom: string;
    natsUrl?: string;
    /** NOTIFY_ALLOW_PRIVATE: let webhooks and push reach loopback and private addresses (self-hosted use). */
    allowPrivate: boolean;
    /** Delivery attempts per channel before the message is dead-lettered. */
    maxAttempts: number;
    /** First retry delay; each later one is four times longer, at most an hour. */
    retryMs: number;
    vapidSubject: string;
  };
  /** TRUST_PROXY: honour X-Forwarded-Proto/For from a TLS-terminating proxy. */
  trustProxy: boolean;
  /** Connection limits and timeouts of the HTTP front (routes/conn_guard.ts). */
  http: {
    /**
     * HTTP_GUARD: accept connections through the guard (caps, header and idle timeouts, out-of-descriptor
     * recovery). false serves with plain Deno.serve, for a proxy in front that owns client connections.
     */
    guard: boolean;
    /** MAX_CONNECTIONS; unset: derived from the open-file limit. */
    maxConnections?: number;
    maxConnectionsPerIp: number;
    headerTimeoutMs: number;
    idleTimeoutMs: number;
  };
  /** WebSocket limits: clients in total and per address, and origins allowed besides this server's own. */
  ws: { maxClients: number; maxClientsPerIp: number; allowedOrigins: string[]; flushMs: number };
  /** Symbols tracked at most (configured ones included), and distinct symbols one user's watchlists and rules hold. */
  limits: { maxTrackedSymbols: number; maxSymbolsPerUser: number };
}

/**
 * The ClickHouse database a process of `config` reads and writes: CLICKHOUSE_DATABASE for live data, with the
 * namespace appended for demo and replayed data (`prices_synthetic`), which never share tables with live data.
 */
export function storeDatabase(config: Pick<Config, "clickhouse" | "namespace">): string {
  const db = config.clickhouse.database;
  return config.namespace === "live" ? db : `${db}_${config.namespace}`;
}

/** Raised by {@link parseEnv}; `message` is one line naming each bad variable and what it allows. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses the process environment into a {@link Config}.
 *
 * Unknown variables are ignored; empty values count as unset. Throws {@link ConfigError} whose message names every
 * invalid variable, what it allows and the value it got, all on one line.
 */
export function parseEnv(env: Record<string, string | undefined>): Config {
  const keys = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];
  const input: Record<string, string> = {};
  for (const k of keys) {
    const v = env[k];
    if (v !== undefined && v.trim() !== "") input[k] = v.trim();
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      if (seen.has(name)) continue;
      seen.add(name);
      const got = input[name];
      parts.push(`${issue.message}${got === undefined ? "" : ` (got ${JSON.stringify(got)})`}`);
    }
    throw new ConfigError(`invalid configuration: ${parts.join("; ")}`);
  }
  const e = parsed.data;
  const massiveKey = e.MASSIVE_API_KEY ?? e.POLYGON_API_KEY;
  const feed = e.FEED ?? (massiveKey === undefined ? "yahoo" : "massive");
  if (feed === "massive" && massiveKey === undefined) {
    throw new ConfigError("invalid configuration: FEED=massive needs MASSIVE_API_KEY (or POLYGON_API_KEY)");
  }
  if (feed === "replay" && e.REPLAY_FILE === undefined) {
    throw new ConfigError("invalid configuration: FEED=replay needs REPLAY_FILE, a file written with RECORD_FILE");
  }
  if (e.ROLE !== "all" && e.NATS_URL === undefined) {
    throw new ConfigError(
      `invalid configuration: ROLE=${e.ROLE} shares live data with the other role over NATS: set NATS_URL`,
    );
  }
  // Synthetic and replayed ticks never share a database, a log or KV records with a live feed.
  const namespace = feed === "synthetic" || feed === "replay" ? feed : "live";
  const defaultKv = e.ROLE === "web" ? undefined : `${e.DATA_DIR.replace(/\/+$/, "")}/kv.sqlite3`;
  const kvPath = e.KV_PATH ?? defaultKv;
  return {
    port: e.PORT,
    role: e.ROLE,
    namespace,
    ...(e.NATS_URL === undefined ? {} : { natsUrl: e.NATS_URL }),
    dataDir: e.DATA_DIR,
    clickhouse: {
      ...(e.CLICKHOUSE_URL === undefined ? {} : { url: e.CLICKHOUSE_URL }),
      user: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
    },
    feed,
    yahoo: { wsUrl: e.YAHOO_WS_URL, ...(e.YAHOO_API_BASE === undefined ? {} : { apiBase: e.YAHOO_API_BASE }) },
    massive: {
      ...(massiveKey === undefined ? {} : { apiKey: massiveKey }),
      wsUrl: e.MASSIVE_WS_URL,
      apiBase: e.MASSIVE_API_BASE,
    },
    symbols: e.SYMBOLS,
    syntheticRate: e.SYNTHETIC_RATE,
    syntheticAlwaysOpen: e.SYNTHETIC_ALWAYS_OPEN,
    syntheticHistory: e.SYNTHETIC_HISTORY,
    ...(kvPath === undefined ? {} : { kvPath }),
    actorLeaseMs: e.ACTOR_LEASE_MS,
    ...(e.RECORD_FILE === undefined ? {} : { recordFile: e.RECORD_FILE }),
    replay: { speed: e.REPLAY_SPEED, ...(e.REPLAY_FILE === undefined ? {} : { file: e.REPLAY_FILE }) },
    alertThreshold: e.ALERT_THRESHOLD,
    historicalFetchCron: e.HISTORICAL_FETCH_CRON,
    notify: {
      ...(e.SMTP_URL === undefined ? {} : { smtpUrl: e.SMTP_URL }),
      smtpFrom: e.SMTP_FROM,
      ...(e.NATS_URL === undefined ? {} : { natsUrl: e.NATS_URL }),
      allowPrivate: e.NOTIFY_ALLOW_PRIVATE,
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      retryMs: e.NOTIFY_RETRY_MS,
      vapidSubject: e.VAPID_SUBJECT,
    },
    trustProxy: e.TRUST_PROXY,
    http: {
      guard: e.HTTP_GUARD,
      ...(e.MAX_CONNECTIONS === undefined ? {} : { maxConnections: e.MAX_CONNECTIONS }),
      maxConnectionsPerIp: e.MAX_CONNECTIONS_PER_IP,
      headerTimeoutMs: e.HEADER_TIMEOUT_MS,
      idleTimeoutMs: e.IDLE_TIMEOUT_MS,
    },
    ws: {
      maxClients: e.WS_MAX_CLIENTS,
      maxClientsPerIp: e.WS_MAX_CLIENTS_PER_IP,
      allowedOrigins: e.WS_ALLOWED_ORIGINS,
      flushMs: e.WS_FLUSH_MS,
    },
    limits: { maxTrackedSymbols: e.MAX_TRACKED_SYMBOLS, maxSymbolsPerUser: e.MAX_SYMBOLS_PER_USER },
  };
}
