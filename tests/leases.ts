/** Reads the symbol leases the processes sharing a KV file hold. */
import { keys } from "../actors/keys.ts";
import type { Lease } from "../actors/lease.ts";

/**
 * One connection to the KV file the members share, kept open while a test polls it. Opening a KV runs write
 * transactions (its queue and expiry sweeps); polling by opening one each time would contend with the members' own
 * lease writes a hundred times a second.
 */
export class LeaseReader {
  private constructor(private readonly kv: Deno.Kv) {}

  static async open(kvPath: string): Promise<LeaseReader> {
    return new LeaseReader(await Deno.openKv(kvPath));
  }

  /** Symbol → owner of every unexpired lease of the `live` namespace. */
  async owners(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const now = Date.now();
    for await (const e of this.kv.list<Lease>({ prefix: keys.leasePrefix("live") })) {
      if (e.value.expiresAt > now) out.set(String(e.key.at(-1)), e.value.owner);
    }
    return out;
  }

  close(): void {
    this.kv.close();
  }
}
