/**
 * The id kept in the file at `path`, made (a random UUID) and written on first use. Ids that must survive restarts
 * (a write-ahead log's, a lease holder's) live next to the data they name. A secret (the admin token) passes 0o600.
 *
 * @example
 * ```ts
 * const token = await persistentId("./data/admin-token", 0o600); // the same value on every start
 * ```
 */
export async function persistentId(path: string, mode = 0o644): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    const id = crypto.randomUUID();
    await Deno.writeTextFile(path, id, { mode });
    return id;
  }
}
