import { envSchema } from "./env.ts";

/** Every variable of the operator contract. */
export type EnvName = keyof typeof envSchema.shape;

/**
 * One line per variable: what it sets. `.env.example` is generated from this and the schema's defaults
 * (`deno task env-example`); a test fails when the file, this map and the schema drift apart.
 */
export const ENV_DOCS: Record<EnvName, string> = {
  PORT: "HTTP port (0 picks a free one and logs it)",
  DATA_DIR: "Deno KV file, embedded ClickHouse data and the write-ahead log live here (ROLE=all and ingest)",
  ROLE: "all (one process: everything), ingest (feeds, actors, writer, jobs, outbox) or web (pages, REST, WebSocket)",
  CLICKHOUSE_URL: "HTTP URL of a ClickHouse server; unset: embedded chDB in DATA_DIR",
  CLICKHOUSE_USER: "ClickHouse user",
  CLICKHOUSE_PASSWORD: "ClickHouse password (keep it in a secret, not in this file)",
  CLICKHOUSE_DATABASE: "ClickHouse database, created if missing",
  FEED: "yahoo, massive, synthetic (demo data) or replay; unset with a Massive key: massive",
  YAHOO_WS_URL: "Yahoo streamer",
  YAHOO_API_BASE: "base URL for Yahoo REST calls (proxies, tests); unset: Yahoo's own hosts",
  MASSIVE_API_KEY: "Massive (formerly Polygon.io) API key",
  POLYGON_API_KEY: "read as MASSIVE_API_KEY when that is unset",
  MASSIVE_WS_URL: "Massive stocks WebSocket",
  MASSIVE_API_BASE: "Massive REST base URL",
  SYMBOLS: "always-tracked symbols, comma-separated",
  ALERT_THRESHOLD: "built-in alert: day change at or below this percent (between -100 and 0)",
  SYNTHETIC_RATE: "ticks per second of FEED=synthetic (how often the demo path is sampled, not how it moves)",
  SYNTHETIC_ALWAYS_OPEN:
    "true keeps the demo ticking outside NYSE regular hours (weekends, holidays, nights), labelled so",
  SYNTHETIC_HISTORY:
    "the demo writes 5 years of daily and 30 days of minute candles for symbols without history on start",
  KV_PATH: "Deno KV file or KV Connect URL; unset: DATA_DIR/kv.sqlite3, or Deno.openKv() for ROLE=web",
  ACTOR_LEASE_MS: "how long an instance holds a symbol without renewing",
  RECORD_FILE: "append every raw frame of the yahoo or massive feed to this file (for replay)",
  REPLAY_FILE: "the recorded file FEED=replay plays",
  REPLAY_SPEED: "replay speed-up: 1 recorded pace, 0 no waiting",
  HISTORICAL_FETCH_CRON: "UTC schedule of the OHLCV fetch (five-field cron)",
  SMTP_URL: "smtp:// or smtps:// URL of the mail server, credentials in the URL; unset: no email channel",
  SMTP_FROM: "sender of alert email",
  NATS_URL: "NATS server(s): the bus between instances, required by ROLE=ingest and ROLE=web",
  NOTIFY_ALLOW_PRIVATE: "true lets webhooks and push reach loopback and private addresses",
  NOTIFY_MAX_ATTEMPTS: "delivery attempts per channel before a dead letter",
  NOTIFY_RETRY_MS: "first retry delay; each later one is four times longer",
  TRUST_PROXY: "true behind a TLS-terminating proxy (X-Forwarded-Proto/For are honoured)",
  HTTP_GUARD:
    "false serves with plain Deno.serve (no connection caps or timeouts of its own): only behind a proxy that has them",
  MAX_CONNECTIONS: "open client connections in all; unset: from the open-file limit",
  MAX_CONNECTIONS_PER_IP: "open connections from one client address",
  HEADER_TIMEOUT_MS: "a request's headers must arrive within this long",
  IDLE_TIMEOUT_MS: "a keep-alive connection idle this long is closed",
  WS_MAX_CLIENTS: "WebSocket connections in all",
  WS_MAX_CLIENTS_PER_IP: "WebSocket connections from one address",
  WS_FLUSH_MS:
    "least time between two batch frames to one WebSocket client (a change after a quiet spell goes at once)",
  WS_ALLOWED_ORIGINS: "origins besides this server's own whose pages may open /ws/realtime, comma-separated",
  MAX_TRACKED_SYMBOLS: "symbols tracked in all, SYMBOLS included",
  MAX_SYMBOLS_PER_USER: "distinct symbols one user's watchlists and rules may hold",
  VAPID_SUBJECT: "contact in the web push VAPID token (mailto: or https:)",
};

/** A default as the environment spells it (lists comma-separated). */
function spell(v: unknown): string {
  if (Array.isArray(v)) return v.join(",");
  return v === undefined ? "" : String(v);
}

/**
 * The text of `.env.example`: every variable with its line of help; those with a default are set to it, the rest
 * commented out.
 */
export function renderEnvExample(): string {
  const defaults = envSchema.parse({}) as Record<string, unknown>;
  const lines = [
    "# Breadboard settings. Generated from schema/env.ts by `deno task env-example`; do not edit by hand.",
    "# Every variable is optional; the values below are the defaults.",
    "",
  ];
  for (const name of Object.keys(envSchema.shape) as EnvName[]) {
    lines.push(`# ${ENV_DOCS[name]}`);
    const d = defaults[name];
    lines.push(d === undefined || (Array.isArray(d) && d.length === 0) ? `# ${name}=` : `${name}=${spell(d)}`);
  }
  return lines.join("\n") + "\n";
}
