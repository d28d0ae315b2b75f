/** Options of {@link politeFetch}. */
export interface PoliteFetchOptions {
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Request starts per second across all callers (default 5). */
  ratePerSecond?: number;
  /** Retries after a 429, a 5xx or a network failure (default 4). */
  retries?: number;
  /** First backoff; each retry doubles it, with jitter (default 500 ms). */
  backoffMs?: number;
  /** Longest wait a Retry-After header may ask for (default 60 s). */
  maxRetryAfterMs?: number;
  /** Cancels waiting and in-flight requests. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Called before each retry with the reason. */
  onRetry?: (url: string, attempt: number, reason: string, waitMs: number) => void;
  /** Time source and timer (default performance.now and setTimeout); tests pass a virtual clock. */
  clock?: { now(): number; sleep(ms: number, signal?: AbortSignal): Promise<void> };
}

/** What a polite fetch did, for logs and job runs. */
export interface PoliteFetchStats {
  requests: number;
  retries: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", stop, { once: true });
  });

/**
 * A fetch that is a good client of a rate-limited API: at most `concurrency` requests in flight, request starts
 * spaced to `ratePerSecond`, and 429, 5xx and network failures retried with exponential backoff and jitter (a
 * Retry-After header, in seconds or as a date, is honoured up to `maxRetryAfterMs`). The last failing response is
 * returned as it is, so the caller sees the real status.
 */
export function politeFetch(o: PoliteFetchOptions = {}): typeof fetch & { stats: PoliteFetchStats } {
  const inner = o.fetch ?? fetch;
  const clock = o.clock ?? { now: () => performance.now(), sleep };
  const concurrency = o.concurrency ?? 4;
  const spacing = 1000 / (o.ratePerSecond ?? 5);
  const stats: PoliteFetchStats = { requests: 0, retries: 0 };
  let active = 0;
  const waiting: (() => void)[] = [];
  let nextStart = 0;

  const acquire = async () => {
    while (active >= concurrency) await new Promise<void>((r) => waiting.push(r));
    active++;
    const now = clock.now();
    const at = Math.max(now, nextStart);
    nextStart = at + spacing;
    if (at > now) await clock.sleep(at - now, o.signal).catch((e) => (release(), Promise.reject(e)));
  };
  const release = () => {
    active--;
    waiting.shift()?.();
  };

  const run = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const retries = o.retries ?? 4;
    for (let attempt = 0;; attempt++) {
      await acquire();
      let res: Response | undefined;
      let failure: unknown;
      try {
        stats.requests++;
        const signal = o.signal && init?.signal ? AbortSignal.any([o.signal, init.signal]) : o.signal ?? init?.signal;
        res = await inner(input, { ...init, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (o.signal?.aborted) throw err;
        failure = err;
      } finally {
        release();
      }
      const retryable = failure !== undefined || res!.status === 429 || res!.status >= 500;
      if (!retryable || attempt >= retries) {
        if (failure !== undefined) throw failure;
        return res!;
      }
      let wait = (o.backoffMs ?? 500) * 2 ** attempt * (0.75 + Math.random() * 0.5);
      const after = res?.headers.get("retry-after");
      if (after) {
        const secs = Number(after);
        const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(after) - Date.now();
        if (Number.isFinite(ms) && ms >= 0) wait = Math.min(ms, o.maxRetryAfterMs ?? 60_000);
      }
      await res?.body?.cancel();
      stats.retries++;
      o.onRetry?.(url, attempt + 1, failure !== undefined ? String(failure) : `HTTP ${res!.status}`, wait);
      await clock.sleep(wait, o.signal);
    }
  };
  return Object.assign(run as typeof fetch, { stats });
}
