import YahooFinance from "yahoo-finance2";

/** A yahoo-finance2 client; its `search` and `chart` modules are what Breadboard calls. */
export type YahooRest = InstanceType<typeof YahooFinance>;

/** Options of {@link createYahooRest}. */
export interface YahooRestOptions {
  /** YAHOO_API_BASE: when set, every Yahoo REST call (including the cookie and crumb requests) goes here instead. */
  apiBase?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Where the library's own warnings go (default: dropped). */
  log?: (level: "warn" | "error", msg: string) => void;
}

/**
 * Builds the yahoo-finance2 client used for symbol search and OHLCV history. The library keeps Yahoo's cookie and
 * crumb itself; this adds the host override (for proxies and the test servers), a timeout on every request, and no
 * update check or notices on the console.
 *
 * @example
 * ```ts
 * const yahoo = createYahooRest({ apiBase: "http://127.0.0.1:9000" });
 * const found = await yahoo.search("apple", { quotesCount: 10, newsCount: 0 });
 * ```
 */
export function createYahooRest(opts: YahooRestOptions = {}): YahooRest {
  const base = opts.apiBase?.replace(/\/+$/, "");
  const inner = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const routed = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const target = base ? `${base}${url.pathname}${url.search}` : url.href;
    const timeout = AbortSignal.timeout(timeoutMs);
    return inner(target, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
  };
  const quiet = () => {};
  return new YahooFinance(
    {
      fetch: routed,
      versionCheck: false,
      suppressNotices: ["yahooSurvey", "ripHistorical"],
      logger: {
        info: quiet,
        debug: quiet,
        dir: quiet,
        warn: (...a: unknown[]) => opts.log?.("warn", a.map(String).join(" ")),
        error: (...a: unknown[]) => opts.log?.("error", a.map(String).join(" ")),
      },
    } as ConstructorParameters<typeof YahooFinance>[0],
  );
}
