import { extname, join, normalize } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { Hono } from "hono";
import islandConfig from "../fresh.config.ts";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

/**
 * /static/*: files from the static dir. Built bundles (content-hashed names under build/) are cacheable forever;
 * other files are revalidated. Paths are normalized and must stay inside the static dir.
 */
export function staticRoutes(): Hono {
  const root = fromFileUrl(islandConfig.staticDir);
  const buildPrefix = fromFileUrl(islandConfig.outDir);
  const serve = async (rel: string, immutableOk: boolean) => {
    const path = normalize(join(root, rel));
    if (!path.startsWith(root) || path.includes("\0")) return new Response("not found", { status: 404 });
    const type = TYPES[extname(path)];
    if (!type) return new Response("not found", { status: 404 });
    let body: Uint8Array;
    try {
      body = await Deno.readFile(path);
    } catch {
      return new Response("not found", { status: 404 });
    }
    const immutable = immutableOk && path.startsWith(buildPrefix) && !path.endsWith("manifest.json");
    return new Response(body as BufferSource, {
      headers: {
        "Content-Type": type,
        "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
        "X-Content-Type-Options": "nosniff",
      },
    });
  };
  return new Hono()
    .get("/static/*", (c) => serve(decodeURIComponent(c.req.path.slice("/static/".length)), true))
    // The service worker must be served from the root to control the whole site.
    .get(
      "/sw.js",
      (c) =>
        serve("sw.js", false).then((r) => (r.headers.set("Service-Worker-Allowed", "/"), r)).catch(() => c.notFound()),
    );
}
