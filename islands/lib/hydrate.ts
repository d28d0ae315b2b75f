import { type ComponentType, h, hydrate } from "preact";

/** How the client entry loads one island's module (a dynamic import, so each island is its own chunk). */
// deno-lint-ignore no-explicit-any
export type IslandLoader = () => Promise<{ default: ComponentType<any> }>;

/**
 * Hydrates every island the server rendered on this page (`data-island`, with its props serialized in
 * `data-props`), loading only the modules the page uses. The build generates the page's one client entry, which
 * calls this with a loader per island file.
 *
 * @param loaders island name → its module's loader
 * @param root where to look for islands (default the document)
 * @returns when every island on the page is hydrated
 * @example
 * ```ts
 * await boot({ Monitor: () => import("../Monitor.tsx") });
 * ```
 */
export async function boot(loaders: Record<string, IslandLoader>, root: ParentNode = document): Promise<void> {
  const els = [...root.querySelectorAll<HTMLElement>("[data-island]")];
  await Promise.all(els.map(async (el) => {
    const name = el.dataset.island ?? "";
    const load = loaders[name];
    if (!load) throw new Error(`island ${name} is not in this build`);
    const { default: component } = await load();
    hydrate(h(component, JSON.parse(el.dataset.props ?? "{}")), el);
  }));
}
