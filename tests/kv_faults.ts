/**
 * Makes commits on `kv` fail as a local Deno KV's do (a TypeError with SQLite's message) for as many as `fail` asks:
 * "database is locked" is what a commit gets while another process sharing the KV file holds its lock.
 *
 * @example
 * ```ts
 * const faults = commitFaults(kv);
 * faults.fail(3); // the next three commits are refused as locked
 * await save(); // retried until the fourth
 * assert.equal(faults.refused, 3);
 * ```
 */
export function commitFaults(kv: Deno.Kv): { fail(count: number, message?: string): void; readonly refused: number } {
  let left = 0;
  let message = "";
  let refused = 0;
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    if (left > 0) {
      op.commit = () => {
        left--;
        refused++;
        return Promise.reject(new TypeError(message));
      };
    }
    return op;
  };
  return {
    fail(count, msg = "database is locked") {
      left = count;
      message = msg;
    },
    get refused() {
      return refused;
    },
  };
}
