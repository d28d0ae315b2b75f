/**
 * A local server answering Yahoo Finance's REST endpoints in their real JSON shapes, for tests that point
 * YAHOO_API_BASE at it: `/v1/finance/search` (symbol search) and `/v8/finance/chart/{symbol}` (OHLCV).
 */

/** A listed company the fake knows. */
export interface Listing {
  symbol: string;
  name: string;
  exchange: string;
  exchDisp: string;
}

/** Companies the search answers from. */
export const LISTINGS: Listing[] = [
  { symbol: "AAPL", name: "Apple Inc.", exchange: "NMS", exchDisp: "NASDAQ" },
  { symbol: "MSFT", name: "Microsoft Corporation", exchange: "NMS", exchDisp: "NASDAQ" },
  { symbol: "NVDA", name: "NVIDIA Corporation", exchange: "NMS", exchDisp: "NASDAQ" },
  { symbol: "TSLA", name: "Tesla, Inc.", exchange: "NMS", exchDisp: "NASDAQ" },
  { symbol: "GOOGL", name: "Alphabet Inc.", exchange: "NMS", exchDisp: "NASDAQ" },
  { symbol: "AMZN", name: "Amazon.com, Inc.", exchange: "NMS", exchDisp: "NASDAQ" },
  { symbol: "META", name: "Meta Platforms, Inc.", exchange: "NMS", exchDisp: "NASDAQ" },
  { symbol: "BRK-B", name: "Berkshire Hathaway Inc.", exchange: "NYQ", exchDisp: "NYSE" },
  { symbol: "APLE", name: "Apple Hospitality REIT, Inc.", exchange: "NYQ", exchDisp: "NYSE" },
];

/** Options of {@link startFakeYahooRest}. */
export interface FakeYahooRestOptions {
  /** Answers a chart request; undefined falls through to the default (404 for every symbol). */
  chart?: (symbol: string, query: URLSearchParams, req: Request) => Response | Promise<Response> | undefined;
  /** When true, every search answers 503 (Yahoo down). */
  searchDown?: boolean;
}

/** A running fake: its base URL, the requests it saw, and stop(). */
export interface FakeYahooRest {
  url: string;
  /** Path and query of every request, in order. */
  requests: string[];
  options: FakeYahooRestOptions;
  stop(): Promise<void>;
}

function searchBody(q: string) {
  const needle = q.toLowerCase();
  const hits = LISTINGS.filter((l) =>
    l.symbol.toLowerCase().startsWith(needle) || l.name.toLowerCase().includes(needle)
  );
  const zero = 0;
  return {
    explains: [],
    count: hits.length,
    quotes: [
      ...hits.map((l, i) => ({
        exchange: l.exchange,
        shortname: l.name,
        quoteType: "EQUITY",
        symbol: l.symbol,
        index: "quotes",
        score: 100_000 - i,
        typeDisp: "Equity",
        longname: l.name,
        exchDisp: l.exchDisp,
        isYahooFinance: true,
      })),
      // Yahoo also returns entities that are not listed on Yahoo Finance; a client must skip them.
      ...(hits.length
        ? [{ index: "crunchbase", name: `${hits[0]!.name} Labs`, permalink: "labs", isYahooFinance: false }]
        : []),
    ],
    news: [],
    nav: [],
    lists: [],
    researchReports: [],
    screenerFieldResults: [],
    totalTime: 12,
    timeTakenForQuotes: 4,
    timeTakenForNews: zero,
    timeTakenForAlgowatchlist: zero,
    timeTakenForPredefinedScreener: zero,
    timeTakenForCrunchbase: zero,
    timeTakenForNav: zero,
    timeTakenForResearchReports: zero,
    timeTakenForScreenerField: zero,
    timeTakenForCulturalAssets: zero,
    timeTakenForSearchLists: zero,
  };
}

/** Yahoo's answer for a symbol it does not know. */
export function chartNotFound(): Response {
  return Response.json(
    { chart: { result: null, error: { code: "Not Found", description: "No data found, symbol may be delisted" } } },
    { status: 404 },
  );
}

/** Starts the fake on a free loopback port. */
export function startFakeYahooRest(options: FakeYahooRestOptions = {}): FakeYahooRest {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    requests.push(url.pathname + url.search);
    if (url.pathname === "/v1/finance/search") {
      if (options.searchDown) return new Response("Service Unavailable", { status: 503 });
      const q = url.searchParams.get("q");
      if (!q) {
        return Response.json({
          finance: { result: null, error: { code: "Bad Request", description: "Missing required query parameter=q" } },
        }, { status: 400 });
      }
      return Response.json(searchBody(q));
    }
    const chart = /^\/v8\/finance\/chart\/([^/]+)$/.exec(url.pathname);
    if (chart) {
      const symbol = decodeURIComponent(chart[1]!);
      return (await options.chart?.(symbol, url.searchParams, req)) ?? chartNotFound();
    }
    return new Response("Not Found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    options,
    stop: () => server.shutdown(),
  };
}
