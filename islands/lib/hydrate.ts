import { type ComponentType, h, hydrate } from "preact";

/**
 * Hydrates every element the server rendered for island `name` (`data-island`), with the props it serialized in
 * `data-props`. Does nothing outside a browser, so the server can import islands to render them.
 */
// deno-lint-ignore no-explicit-any
export function mount(name: string, component: ComponentType<any>): void {
  if (typeof document === "undefined") return;
  for (const el of document.querySelectorAll<HTMLElement>(`[data-island="${name}"]`)) {
    hydrate(h(component, JSON.parse(el.dataset.props ?? "{}")), el);
  }
}
