import { backoffDelay } from "../schema/backoff.ts";
import type { Logger } from "../schema/log.ts";

/**
 * Calls `onChange` after another writer bumps the KV version key `key`, at most once per burst of changes
 * (`settleMs` after the last one). The value present when following starts is not a change. If the watch stream
 * fails, the failure is logged and the watch is opened again with backoff; since changes may have been missed
 * meanwhile, `onChange` is called once it is back.
 *
 * @returns a function that stops following.
 * @example
 * ```ts
 * const stop = followVersion(kv, ["rules_version"], () => book.resync(), 50, log);
 * ```
 */
export function followVersion(
  kv: Deno.Kv,
  key: Deno.KvKey,
  onChange: () => void,
  settleMs = 50,
  log?: Logger,
): () => void {
  let pending: ReturnType<typeof setTimeout> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const stop = new AbortController();
  let stopped = false;
  let failures = 0;
  const follow = (resumed: boolean) => {
    let first = true;
    kv.watch([key]).pipeTo(
      new WritableStream({
        write: () => {
          if (first) {
            first = false;
            failures = 0;
            if (!resumed) return;
          }
          clearTimeout(pending);
          pending = setTimeout(onChange, settleMs);
        },
      }),
      { signal: stop.signal }, // aborting cancels the watch
    ).then(
      () => stopped || again(new Error("the watch stream ended")),
      (err) => stopped || again(err),
    );
  };
  const again = (err: unknown) => {
    const delay = backoffDelay(failures++, 250, 30_000);
    log?.("warn", "following a KV version key failed; watching again", {
      key: key.join("/"),
      retryInMs: delay,
      error: err instanceof Error ? err.message : String(err),
    });
    retry = setTimeout(() => follow(true), delay);
  };
  follow(false);
  return () => {
    stopped = true;
    clearTimeout(pending);
    clearTimeout(retry);
    stop.abort();
  };
}

/** Raised when a KV write lost a race with another write to the same record; the caller may retry. */
export class WriteConflictError extends Error {
  override name = "WriteConflictError";
}

/** Raised when the KV stayed locked by another process sharing its file through every retry; retry later. */
export class KvBusyError extends Error {
  override name = "KvBusyError";
}

/**
 * True for the error a local Deno KV gives when another process sharing its SQLite file holds the lock: transient,
 * unlike a failed check or a bad value, so the write can be tried again as it was.
 */
export function isKvBusy(err: unknown): boolean {
  return err instanceof Error && /database (table )?is locked|SQLITE_BUSY/i.test(err.message);
}
