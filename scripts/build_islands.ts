/**
 * Bundles every island (islands/*.tsx) for the browser with code splitting, then gives each entry a content-hashed
 * name and writes `manifest.json` (island name → script URL, plus the hashed stylesheet) into the output directory
 * named by fresh.config.ts. Shared code (Preact, lightweight-charts, the island runtime) lands in hashed chunks.
 *
 * `--watch` rebuilds when islands/, components/ or static/app.css change.
 */
import { basename, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import islandConfig from "../fresh.config.ts";

/** Where a build reads from and writes to (default: the directories fresh.config.ts names). */
export interface BuildDirs {
  islandsDir: string;
  staticDir: string;
  outDir: string;
  /** Folders whose changes also trigger a rebuild in watch mode. */
  alsoWatch: string[];
}

/** What a build wrote: island name → script URL, the stylesheet URL, and when. */
export interface Manifest {
  islands: Record<string, string>;
  css: string;
  builtAt: number;
}

const ROOT = fromFileUrl(new URL("../", import.meta.url));
const DEFAULT_DIRS: BuildDirs = {
  islandsDir: fromFileUrl(islandConfig.islandsDir),
  staticDir: fromFileUrl(islandConfig.staticDir),
  outDir: fromFileUrl(islandConfig.outDir),
  alsoWatch: [join(ROOT, "components")],
};

async function hash(bytes: Uint8Array): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)).toHex().slice(0, 12);
}

/** Builds once into a fresh directory and swaps it in; returns the manifest. */
export async function build(dirs: BuildDirs = DEFAULT_DIRS): Promise<Manifest> {
  const { islandsDir, staticDir, outDir } = dirs;
  const started = performance.now();
  const entries: string[] = [];
  for await (const e of Deno.readDir(islandsDir)) {
    if (e.isFile && /^[A-Z]\w*\.tsx$/.test(e.name)) entries.push(join(islandsDir, e.name));
  }
  entries.sort();
  const tmp = `${outDir.replace(/\/$/, "")}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--format",
      "esm",
      "--minify",
      "--code-splitting",
      "--outdir",
      tmp,
      ...entries,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`island bundle failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const islands: Record<string, string> = {};
  for (const entry of entries) {
    const name = basename(entry, ".tsx");
    const file = join(tmp, `${name}.js`);
    const bytes = await Deno.readFile(file);
    const hashed = `${name}-${await hash(bytes)}.js`;
    await Deno.rename(file, join(tmp, hashed));
    islands[name] = `/static/build/${hashed}`;
  }
  const css = await Deno.readFile(join(staticDir, "app.css"));
  const cssName = `app-${await hash(css)}.css`;
  await Deno.writeFile(join(tmp, cssName), css);
  const manifest: Manifest = { islands, css: `/static/build/${cssName}`, builtAt: Date.now() };
  await Deno.writeTextFile(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2));
  const old = `${outDir.replace(/\/$/, "")}.old-${Deno.pid}`;
  await Deno.rename(outDir, old).catch(() => {});
  await Deno.rename(tmp, outDir);
  await Deno.remove(old, { recursive: true }).catch(() => {});
  console.log(`islands built: ${Object.keys(islands).join(", ")} in ${Math.round(performance.now() - started)} ms`);
  return manifest;
}

/**
 * Rebuilds after changes settle (150 ms), one build at a time; a failed build is printed and the old one kept.
 * Runs until `signal` aborts.
 */
export async function watch(
  dirs: BuildDirs = DEFAULT_DIRS,
  opts: { signal?: AbortSignal; onBuild?: (m: Manifest) => void } = {},
): Promise<void> {
  const watcher = Deno.watchFs([dirs.islandsDir, ...dirs.alsoWatch, join(dirs.staticDir, "app.css")]);
  opts.signal?.addEventListener("abort", () => watcher.close());
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = Promise.resolve();
  for await (const e of watcher) {
    // The build's own output must not trigger another build.
    if (e.paths.every((p) => p.startsWith(dirs.outDir.replace(/\/$/, "")))) continue;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(() => build(dirs).then((m) => opts.onBuild?.(m), (err) => console.error(String(err))));
    }, 150);
  }
  clearTimeout(timer);
  await running;
}

if (import.meta.main) {
  await build();
  if (Deno.args.includes("--watch")) await watch();
}
