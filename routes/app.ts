import type { Hono } from "hono";
import type { BlankEnv } from "hono/types";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { timingSafeEqual } from "node:crypto";
import { compress } from "hono/compress";
import type { RuleBook } from "../actors/rule_book.ts";
import type { WatchlistBook } from "../actors/watchlist_book.ts";
import type { FeedStatus } from "../schema/health.ts";
import type { BrokerStatus } from "../broker/broker.ts";
import type { Store } from "../store/store.ts";
import type { Quotas } from "../actors/user_quota.ts";
import { healthRoutes } from "./api/health.ts";
import { jobRoutes } from "./api/jobs.ts";
import { type BackfillRequest, backfillRequest, type BackfillRun } from "../schema/backfill.ts";
import { apiRouter, jsonBody } from "./api/declare.ts";
import { type NotificationDeps, notificationRoutes } from "./api/notifications.ts";
import { type MarketDeps, marketRoutes } from "./api/market.ts";
import { ruleRoutes } from "./api/rules.ts";
import { searchRoutes, type SymbolSearch } from "./api/search.ts";
import { tokenRoutes } from "./api/tokens.ts";
import { watchlistRoutes } from "./api/watchlists.ts";
import { docsPage } from "./docs.ts";
import { type PageDeps, pageRoutes } from "./pages/mod.tsx";
import { staticRoutes } from "./static.ts";
import { openApiDocument } from "./openapi.ts";
import { ApiError, notFound, onError } from "./errors.ts";
import { clientAddress, requestOrigin, type ServeEnv } from "./client_address.ts";
import { securityHeaders } from "./security_headers.ts";
import { cookieKey, identity } from "./identity.ts";
import { type Metrics, metricsRoutes } from "./metrics.ts";
import type { Hub } from "./ws.ts";

/** Everything the HTTP app reads from; passed in so tests build the app on their own KV and store. */
export interface AppDeps {
  store: Store;
  kv: Deno.Kv;
  /** Per-user caps and symbol budgets shared by every collection (default budgets when not given). */
  quotas?: Quotas;
  /** Current state of the live feed, where this process runs one. */
  feed?: () => FeedStatus;
  /** State of the bus between instances. */
  bus?: () => BrokerStatus;
  /** What this process does, for /api/v1/health. */
  role?: "all" | "ingest" | "web";
  /** Served at /metrics when given. */
  metrics?: Metrics;
  /** Alert rules: /api/v1/rules when given. */
  rules?: RuleBook;
  /** Quotes and live candles: /api/v1/stocks, /history and /alerts when given. */
  market?: Omit<MarketDeps, "store">;
  /** The real-time fan-out: /ws/realtime when given. */
  hub?: Hub;
  /** Users' watchlists: /api/v1/watchlists when given. */
  watchlists?: WatchlistBook;
  /** Symbol search: /api/v1/symbols/search when given. */
  search?: SymbolSearch;
  /** Notification channels and delivery records: /api/v1/channels and /api/v1/notifications when given. */
  notify?: NotificationDeps;
  /** TRUST_PROXY: take the scheme and client address from X-Forwarded-Proto/For. */
  trustProxy?: boolean;
  /** Origins besides this server's own that may open WebSockets (WS_ALLOWED_ORIGINS). */
  wsAllowedOrigins?: readonly string[];
  /**
   * Operator actions on this process, reachable only from loopback with the token in DATA_DIR/admin-token:
   * POST /api/v1/admin/backup `{ "dir": "/abs/path" }` (`deno task backup`).
   */
  admin?: {
    token: string;
    backup: (dir: string) => Promise<unknown>;
    /** Backfills in this process (jobs/backfill_runs.ts); absent where there is no history provider. */
    backfill?: {
      start(req: BackfillRequest): { run: BackfillRun; started: boolean };
      get(id: string): BackfillRun | undefined;
    };
  };
  /** The dashboard pages (/, /history, /alerts, /settings) and their static files, when given. */
  pages?: Pick<PageDeps, "defaultSymbols" | "tracked" | "quotes" | "feed">;
}

/**
 * Builds the Hono app from its dependencies. Holds no state of its own: serving it with Deno.serve, or calling
 * `app.fetch` in a test, is all it takes.
 */
export function createApp(deps: AppDeps): Hono {
  const app = apiRouter<BlankEnv>();
  app.use("*", securityHeaders());
  app.onError(onError);
  app.notFound(notFound);
  const key = cookieKey(deps.kv);
  key.catch(() => {}); // a KV failure surfaces on the first request that needs the key
  // Each route that acts for a user declares it (routes/api/declare.ts `access`), which attaches this middleware.
  const who = identity(deps.kv, key, { trustProxy: deps.trustProxy ?? false });

  app.route("/api/v1/health", healthRoutes(deps));
  app.route("/api/v1/jobs", jobRoutes(deps.store));
  if (deps.metrics) app.route("/metrics", metricsRoutes(deps.metrics));
  if (deps.admin) adminRoutes(app, deps.admin);

  const api = apiRouter();
  // API answers are per user or live: no shared cache may keep them unless a route says otherwise.
  api.use("*", async (c, next) => {
    await next();
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  });
  if (deps.rules) api.route("/rules", ruleRoutes(deps.rules, who));
  if (deps.watchlists) api.route("/watchlists", watchlistRoutes(deps.watchlists, who));
  api.route("/tokens", tokenRoutes(deps.kv, who, Date.now, deps.quotas));
  if (deps.search) api.route("/symbols", searchRoutes(deps.search, who));
  if (deps.notify) {
    const n = notificationRoutes(deps.notify, who);
    api.route("/channels", n.channels);
    api.route("/notifications", n.notifications);
  }
  if (deps.market) api.route("/", marketRoutes({ store: deps.store, ...deps.market }, who));
  app.route("/api/v1", api);
  // Generated once, after every route above is declared; `servers` names the origin the document was fetched from.
  let doc: ReturnType<typeof openApiDocument> | undefined;
  const openApi = (req: Request) => ({
    ...(doc ??= openApiDocument(app)),
    servers: [{ url: requestOrigin(req, deps.trustProxy ?? false), description: "this server" }],
  });
  app.get("/api/v1/openapi.json", (c) => c.json(openApi(c.req.raw), 200, { "Cache-Control": "no-store" }));
  app.get("/docs", (c) => c.html(docsPage(openApi(c.req.raw))));

  if (deps.pages) {
    // Pages and bundles go out compressed (gzip or deflate, as the browser accepts).
    for (const path of ["/", "/history", "/alerts", "/settings", "/static/*", "/sw.js"]) app.use(path, compress());
    app.route("/", staticRoutes());
    app.route(
      "/",
      pageRoutes({
        ...deps.pages,
        ...(deps.rules ? { rules: deps.rules } : {}),
        ...(deps.watchlists ? { watchlists: deps.watchlists } : {}),
        ...(deps.notify ? { notify: deps.notify } : {}),
        store: deps.store,
      }, who),
    );
  }

  const hub = deps.hub;
  if (hub) {
    app.get("/ws/realtime", who, (c) => {
      if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
        throw new ApiError(426, "upgrade_required", "connect with a WebSocket client");
      }
      // Browsers send Origin on every WebSocket: only this server's own pages (and configured origins) may connect.
      const origin = c.req.header("Origin");
      if (origin !== undefined && origin !== requestOrigin(c.req.raw, deps.trustProxy ?? false)) {
        if (!(deps.wsAllowedOrigins ?? []).includes(origin)) {
          throw new ApiError(403, "forbidden", `WebSocket connections from ${origin} are not allowed`);
        }
      }
      const address = clientAddress(c, deps.trustProxy ?? false);
      const refused = hub.admits(address);
      if (refused) throw new ApiError(429, "rate_limited", refused);
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 30 });
      // Behind the connection guard, its thread writes the hub's frames (routes/frame_channel.ts).
      const outlet = (c.env as ServeEnv | undefined)?.wsOutlet;
      hub.accept(socket, c.get("userId"), address, outlet?.(socket));
      return response;
    });
  }
  return app;
}

/**
 * Operator actions on this process: from this machine only (the peer the server saw, never a forwarded header),
 * with the admin token. Not in the API document: they are for `deno task backup` and `deno task backfill`.
 */
function adminRoutes(app: OpenAPIHono<BlankEnv>, admin: NonNullable<AppDeps["admin"]>): void {
  app.use("/api/v1/admin/*", async (c, next) => {
    const peer = clientAddress(c, false);
    if (peer !== "127.0.0.1" && peer !== "::1") {
      throw new ApiError(403, "forbidden", "admin actions are loopback only");
    }
    const given = new TextEncoder().encode(c.req.header("Authorization")?.replace(/^Bearer /, "") ?? "");
    const want = new TextEncoder().encode(admin.token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      throw new ApiError(401, "unauthorized", "the admin token (DATA_DIR/admin-token) is required");
    }
    await next();
    c.header("Cache-Control", "no-store");
  });
  app.post("/api/v1/admin/backup", jsonBody, async (c) => {
    const body = await c.req.json();
    const dir = typeof body?.dir === "string" ? body.dir : "";
    if (!dir.startsWith("/") || dir.includes("\0")) {
      throw new ApiError(400, "invalid_input", "dir: an absolute path for the backup folder");
    }
    return c.json(await admin.backup(dir));
  });
  app.post("/api/v1/admin/backfill", jsonBody, async (c) => {
    const runs = admin.backfill;
    if (!runs) {
      throw new ApiError(409, "not_supported", "demo and replayed data have no history provider to backfill from");
    }
    const { run, started } = runs.start(backfillRequest.parse(await c.req.json()));
    if (!started) {
      throw new ApiError(
        409,
        "busy",
        `a backfill is running (${run.id}); follow it at /api/v1/admin/backfill/${run.id}`,
      );
    }
    c.header("Location", `/api/v1/admin/backfill/${run.id}`);
    return c.json(run, 202);
  });
  app.get("/api/v1/admin/backfill/:id", (c) => {
    const run = admin.backfill?.get(c.req.param("id"));
    if (!run) throw new ApiError(404, "not_found", `no backfill ${c.req.param("id")} in this process`);
    return c.json(run);
  });
}
