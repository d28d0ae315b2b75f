import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import * as islands from "../islands/mod.ts";
import Monitor from "../islands/Monitor.tsx";
import { Layout } from "./Layout.tsx";
import { Island, withIslands } from "./Island.tsx";
import islandConfig from "../fresh.config.ts";

Deno.test("islands/mod.ts lists exactly the island files the build bundles, each under its file's name", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(islandConfig.islandsDir)) {
    // The build's rule for an island file (scripts/build_islands.ts).
    if (e.isFile && /^[A-Z]\w*\.tsx$/.test(e.name)) files.push(e.name.slice(0, -4));
  }
  assert.deepEqual(Object.keys(islands).sort(), files.sort());
  for (const name of files) {
    const mod = await import(new URL(`${name}.tsx`, islandConfig.islandsDir).href);
    assert.equal((islands as Record<string, unknown>)[name], mod.default, `${name} is its file's default export`);
  }
});

Deno.test("a page reports the islands it rendered, found by component identity; a non-island is refused", () => {
  const props = { symbols: [] as string[], quotes: [] };
  const { result, islands: used } = withIslands(() =>
    renderToString(
      <Layout active="/">
        <Island component={Monitor} props={props} />
      </Layout>,
    )
  );
  assert.deepEqual(used, ["Monitor"]);
  assert.match(result, /<div data-island="Monitor" data-props="\{&quot;symbols&quot;:\[\],&quot;quotes&quot;:\[\]\}">/);
  assert.deepEqual(withIslands(() => renderToString(<Layout active="/">text</Layout>)).islands, []);

  const NotAnIsland = () => <b>x</b>;
  assert.throws(() => renderToString(<Island component={NotAnIsland} props={{}} />), /NotAnIsland is not an island/);
});
