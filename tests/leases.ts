/** Reads the symbol leases the processes sharing a KV file hold. */
import { keys } from "../actors/keys.ts";
import { type Lease, rendezvous } from "../actors/lease.ts";

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

/**
 * Member ids for `n` processes that split `symbols` evenly enough that each holds at least a third of its fair
 * share: the first such ids of a fixed sequence. Random ids (what a process makes for itself) give every symbol to
 * one member now and then, which a test of the split must not depend on.
 */
export function evenMemberIds(symbols: readonly string[], n: number): string[] {
  for (let round = 0; round < 1_000; round++) {
    const ids = Array.from({ length: n }, (_, k) => `member-${k}-${round}`);
    const counts = ids.map((id) => symbols.filter((s) => rendezvous(ids, s) === id).length);
    if (counts.every((c) => c * 3 * n >= symbols.length)) return ids;
  }
  throw new Error("no even split found");
}

/** Gives the process that will run with `dataDir` the member id `id` (it keeps what it finds there). */
export async function presetMemberId(dataDir: string, id: string): Promise<void> {
  await Deno.mkdir(dataDir, { recursive: true });
  await Deno.writeTextFile(`${dataDir}/process-id`, id);
}
