/**
 * Embedded stores for tests. libchdb holds one data directory per process, so every test in a process shares one
 * temporary directory and isolates itself in a database of its own.
 */
import { openEmbeddedStore } from "../store/embedded.ts";
import type { Store } from "../store/store.ts";

let dir: string | undefined;

/** The chDB data directory shared by this test process. */
export function sharedChdbPath(): string {
  dir ??= Deno.makeTempDirSync({ prefix: "breadboard-chdb-test-" });
  return dir;
}

/** A fresh database name. */
export function uniqueDatabase(prefix = "t"): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/** Opens an embedded store on a new, empty database. Drop it with {@link dropStore}. */
export function openTestStore(): Promise<Store> {
  return openEmbeddedStore({ path: sharedChdbPath(), database: uniqueDatabase() });
}

/** Drops the store's database and closes it. */
export async function dropStore(store: Store): Promise<void> {
  await store.exec(`DROP DATABASE IF EXISTS \`${store.database}\``);
  await store.close();
}
