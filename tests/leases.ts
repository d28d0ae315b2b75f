/** Reads the symbol leases the processes sharing a KV file hold. */
import { keys } from "../actors/keys.ts";
import type { Lease } from "../actors/lease.ts";

/** Symbol → owner of every unexpired lease of the `live` namespace in the KV file at `kvPath`. */
export async function leaseOwners(kvPath: string): Promise<Map<string, string>> {
  const kv = await Deno.openKv(kvPath);
  const out = new Map<string, string>();
  const now = Date.now();
  try {
    for await (const e of kv.list<Lease>({ prefix: keys.leasePrefix("live") })) {
      if (e.value.expiresAt > now) out.set(String(e.key.at(-1)), e.value.owner);
    }
  } finally {
    kv.close();
  }
  return out;
}
