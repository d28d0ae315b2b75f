import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { YahooRest } from "../../feeds/yahoo_rest.ts";
import { searchResultSchema } from "../../schema/api.ts";
import { SYMBOL_PATTERN } from "../../schema/symbol.ts";
import { access, type ApiEnv, apiRouter, errors, json } from "./declare.ts";

/** Query of GET /api/v1/symbols/search. */
export const searchQuery = z.object({
  q: z.string({ error: "q is required" }).trim().min(1, { error: "q must not be empty" })
    .max(64, { error: "q is at most 64 characters" })
    .regex(/^[\p{L}\p{N} .,&'^=\-]+$/u, { error: "q holds letters, digits, spaces and . , & ' ^ = - only" }),
});

/** Answer of GET /api/v1/symbols/search. `source` says whether Yahoo answered or only the local symbols did. */
export type SearchResult = z.infer<typeof searchResultSchema>;
/** One search hit. */
export type SymbolMatch = SearchResult["results"][number];

/** Options of {@link SymbolSearch}. */
export interface SymbolSearchOptions {
  /** The Yahoo client; without one only local symbols are searched. */
  yahoo?: YahooRest;
  /** Symbols this server knows (tracked and on watchlists), searched when Yahoo cannot answer. */
  known: () => Iterable<string>;
  /** How long a Yahoo answer is reused (default 10 min). */
  ttlMs?: number;
  /** Most cached queries (default 1,000, least recently used dropped first). */
  maxEntries?: number;
  now?: () => number;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Symbol search by ticker or company name through yahoo-finance2's search, cached per normalized query; concurrent
 * requests for the same query share one upstream call. When Yahoo fails, the symbols this server already knows are
 * matched by prefix instead (`source: "local"`), and that answer is not cached.
 */
export class SymbolSearch {
  #cache = new Map<string, { at: number; value: Promise<SymbolMatch[]> }>();
  #o: SymbolSearchOptions;
  /** Upstream calls made (tests read it to see the cache work). */
  upstreamCalls = 0;

  constructor(o: SymbolSearchOptions) {
    this.#o = o;
  }

  async search(query: string): Promise<SearchResult> {
    const key = query.trim().toLowerCase();
    const now = (this.#o.now ?? Date.now)();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < (this.#o.ttlMs ?? 600_000)) {
      this.#cache.delete(key);
      this.#cache.set(key, hit); // most recently used last
      try {
        return { query, source: "yahoo", results: await hit.value };
      } catch {
        // The shared call failed; fall through to the local answer below.
      }
    } else if (this.#o.yahoo) {
      const value = this.#upstream(key);
      this.#cache.set(key, { at: now, value });
      while (this.#cache.size > (this.#o.maxEntries ?? 1_000)) this.#cache.delete(this.#cache.keys().next().value!);
      try {
        return { query, source: "yahoo", results: await value };
      } catch (err) {
        this.#cache.delete(key);
        this.#o.log?.("symbol search fell back to local symbols", { query: key, error: String(err) });
      }
    }
    return { query, source: "local", results: this.#local(key) };
  }

  async #upstream(q: string): Promise<SymbolMatch[]> {
    this.upstreamCalls++;
    const res = await this.#o.yahoo!.search(q, { quotesCount: 10, newsCount: 0, enableFuzzyQuery: true });
    const out: SymbolMatch[] = [];
    for (const hit of res.quotes) {
      const h = hit as Record<string, unknown>;
      const symbol = typeof h.symbol === "string" ? h.symbol.toUpperCase() : "";
      if (h.isYahooFinance !== true || !SYMBOL_PATTERN.test(symbol)) continue;
      out.push({
        symbol,
        name: String(h.longname ?? h.shortname ?? symbol),
        exchange: String(h.exchDisp ?? h.exchange ?? ""),
        type: String(h.typeDisp ?? h.quoteType ?? ""),
      });
    }
    return out;
  }

  #local(q: string): SymbolMatch[] {
    const upper = q.toUpperCase();
    const out: SymbolMatch[] = [];
    for (const s of new Set(this.#o.known())) {
      if (s.startsWith(upper)) out.push({ symbol: s, name: s, exchange: "", type: "" });
    }
    return out.sort((a, b) => a.symbol.length - b.symbol.length || a.symbol.localeCompare(b.symbol)).slice(0, 10);
  }
}

/**
 * GET /api/v1/symbols/search?q=.
 *
 * @param search the cached search
 * @param who the identity middleware
 * @returns the router to mount at /api/v1/symbols
 */
export function searchRoutes(search: SymbolSearch, who: MiddlewareHandler<ApiEnv>) {
  return apiRouter().openapi(
    createRoute({
      method: "get",
      path: "/search",
      tags: ["market"],
      summary: "Find symbols by ticker or company name",
      ...access("user", who),
      request: { query: searchQuery },
      responses: { 200: json(searchResultSchema), ...errors() },
    }),
    async (c) => {
      c.header("Cache-Control", "private, max-age=60");
      return c.json(await search.search(c.req.valid("query").q), 200);
    },
  );
}
