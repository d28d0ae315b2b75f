/**
 * Calls `onChange` after another writer bumps the KV version key `key`, at most once per burst of changes
 * (`settleMs` after the last one). The value present when following starts is not a change.
 *
 * Returns a function that stops following.
 */
export function followVersion(kv: Deno.Kv, key: Deno.KvKey, onChange: () => void, settleMs = 50): () => void {
  const watch = kv.watch([key]);
  let first = true;
  let pending: ReturnType<typeof setTimeout> | undefined;
  void watch.pipeTo(
    new WritableStream({
      write: () => {
        if (first) {
          first = false;
          return;
        }
        clearTimeout(pending);
        pending = setTimeout(onChange, settleMs);
      },
    }),
  ).catch(() => {});
  return () => {
    clearTimeout(pending);
    void watch.cancel().catch(() => {});
  };
}

/** Raised when a KV write lost a race with another write to the same record; the caller may retry. */
export class WriteConflictError extends Error {
  override name = "WriteConflictError";
}
