import { z } from "zod";

/** A record id in a path: 1-64 of A-Z, a-z, 0-9, `:`, `_`, `-`. */
export const idParam = z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, { error: "id is 1-64 of A-Z, a-z, 0-9, : _ -" });

/** A new random record id starting with `prefix` and an underscore. */
export const newId = (prefix: string): string => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;

/** Path parameters of a route that names one record: `{id}`. */
export const idParams = z.object({ id: idParam });
