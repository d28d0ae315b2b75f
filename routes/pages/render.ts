import { fileURLToPath as fromFileUrl } from "node:url";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import islandConfig from "../../fresh.config.ts";
import { withIslands } from "../../components/Island.tsx";

/** What `deno task build` wrote (scripts/build_islands.ts). */
export interface Manifest {
  /** The one client entry every page with islands loads. */
  client: string;
  /** Island name → its module, which the client entry imports when the page has that island. */
  islands: Record<string, string>;
  /** Island name → the shared chunks its module imports, preloaded with it. */
  imports: Record<string, string[]>;
  css: string;
}

let cached: { mtime: number; manifest: Manifest } | undefined;

/** Raised when the island bundles are missing: the server was started without `deno task build`. */
export class NotBuiltError extends Error {
  override name = "NotBuiltError";
}

/**
 * The build manifest, re-read when the file changes (so `deno task dev` serves a rebuilt island on the next
 * request). Throws {@link NotBuiltError} when there is none.
 */
export async function manifest(): Promise<Manifest> {
  const file = fromFileUrl(new URL("manifest.json", islandConfig.outDir));
  let mtime: number;
  try {
    mtime = (await Deno.stat(file)).mtime?.getTime() ?? 0;
  } catch {
    throw new NotBuiltError("the island bundles are not built: run `deno task build` (start and dev do it)");
  }
  if (cached?.mtime !== mtime) cached = { mtime, manifest: JSON.parse(await Deno.readTextFile(file)) };
  return cached.manifest;
}

/** `s` as HTML text or a double-quoted attribute value: &, <, > and " escaped. */
export const escapeHtml = (s: unknown): string =>
  String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
const esc = escapeHtml;

/**
 * A whole HTML document: the server-rendered `body`, the stylesheet and, when the body has islands, the client entry
 * with the modules of exactly those islands (and their shared chunks) preloaded, so they load in parallel rather
 * than one after another. The theme comes from the `bb_theme` cookie so the first paint has the right colours.
 */
export async function renderPage(
  opts: { title: string; description?: string; theme: "dark" | "light"; body: VNode },
): Promise<string> {
  const m = await manifest();
  const { result: body, islands } = withIslands(() => renderToString(opts.body));
  const preload = new Set<string>();
  for (const name of islands) {
    const src = m.islands[name];
    if (!src) throw new NotBuiltError(`island ${name} is not in the build: run \`deno task build\``);
    preload.add(src);
    for (const dep of m.imports[name] ?? []) preload.add(dep);
  }
  const scripts = islands.length === 0 ? "" : `<script type="module" src="${esc(m.client)}"></script>` +
    [...preload].map((href) => `<link rel="modulepreload" href="${esc(href)}">`).join("");
  return `<!doctype html><html lang="en" data-theme="${opts.theme}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="dark light">` +
    `<title>${esc(opts.title)} · Breadboard</title>` +
    (opts.description ? `<meta name="description" content="${esc(opts.description)}">` : "") +
    `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">` +
    `<link rel="stylesheet" href="${esc(m.css)}">${scripts}</head>` +
    `<body>${body}</body></html>`;
}
