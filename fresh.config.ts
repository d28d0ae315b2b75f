/**
 * Island UI configuration, read by the bundle step and the page renderer.
 *
 * Pages are rendered on the server with Preact; only the components in `islandsDir` ship JavaScript, bundled into
 * `outDir` (inside `staticDir`, ignored by git) with content-hashed names.
 */
export const islandConfig = {
  /** Hydrated components, one per file. */
  islandsDir: new URL("./islands/", import.meta.url),
  /** Served as-is under /static/. */
  staticDir: new URL("./static/", import.meta.url),
  /** Build output of the island bundles. */
  outDir: new URL("./static/build/", import.meta.url),
} as const;

export default islandConfig;
