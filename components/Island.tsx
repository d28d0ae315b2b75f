import type { ComponentType } from "preact";
import * as islands from "../islands/mod.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

/** Island name (its file's name) of each island component, by identity. */
const NAMES = new Map<AnyComponent, string>(Object.entries(islands).map(([name, c]) => [c as AnyComponent, name]));

/** The islands rendered by the page being rendered now, in order (rendering to a string is synchronous). */
let rendered: Set<string> | undefined;

/**
 * Renders `render()` and reports which islands it used, so the page loads exactly their scripts.
 *
 * @param render renders the page body (synchronously, as preact-render-to-string does)
 * @returns what `render` returned, and the names of the islands it rendered
 * @example
 * ```ts
 * const { result: html, islands } = withIslands(() => renderToString(<Island component={Monitor} props={p} />));
 * // islands: ["Monitor"]
 * ```
 */
export function withIslands<T>(render: () => T): { result: T; islands: string[] } {
  const outer = rendered;
  rendered = new Set();
  try {
    const result = render();
    return { result, islands: [...rendered] };
  } finally {
    rendered = outer;
  }
}

/**
 * Renders an island on the server inside a wrapper that carries its props as JSON; the client entry hydrates it
 * (islands/lib/hydrate.ts). The component must be one of islands/mod.ts; props must be plain JSON values.
 */
export function Island<P extends object>({ component: C, props }: { component: ComponentType<P>; props: P }) {
  const name = NAMES.get(C as AnyComponent);
  if (!name) throw new Error(`${C.displayName ?? C.name} is not an island: add it to islands/ and islands/mod.ts`);
  rendered?.add(name);
  return (
    <div data-island={name} data-props={JSON.stringify(props)}>
      <C {...props} />
    </div>
  );
}
