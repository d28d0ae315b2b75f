import { join } from "node:path";
import type { Config } from "../schema/env.ts";
import type { Store } from "./store.ts";

/**
 * Opens the store the configuration names: the HTTP driver when `clickhouse.url` is set, otherwise embedded chDB
 * with its data in `<dataDir>/clickhouse`.
 *
 * Each driver module is imported only when chosen, so the HTTP path never loads chDB's native addon.
 *
 * @example
 * ```ts
 * const store = await openStore(config); // chDB in DATA_DIR, or CLICKHOUSE_URL when set
 * ```
 */
export async function openStore(config: Pick<Config, "clickhouse" | "dataDir">): Promise<Store> {
  const { url, user, password, database } = config.clickhouse;
  if (url !== undefined) {
    const { openHttpStore } = await import("./http.ts");
    return openHttpStore({ url, user, password, database });
  }
  const { openEmbeddedStore } = await import("./embedded.ts");
  return openEmbeddedStore({ path: join(config.dataDir, "clickhouse"), database });
}
