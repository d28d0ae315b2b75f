import type { ComponentType } from "preact";

/**
 * Renders island `name` on the server inside a wrapper that carries its props as JSON, which the browser bundle
 * hydrates (islands/lib/hydrate.ts). Props must be plain JSON values.
 */
export function Island({ name, component: C, props }: {
  name: string;
  // deno-lint-ignore no-explicit-any
  component: ComponentType<any>;
  props: object;
}) {
  return (
    <div data-island={name} data-props={JSON.stringify(props)}>
      <C {...props} />
    </div>
  );
}
