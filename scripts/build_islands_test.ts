import assert from "node:assert/strict";
import { join } from "node:path";
import { build, type Manifest, watch } from "./build_islands.ts";

/** A throwaway island tree: one island importing Preact, a stylesheet, an output dir. */
async function tree() {
  // Inside the project (bench/out/ is ignored), so the island's "preact" import resolves like the real ones.
  const scratch = new URL("../bench/out/", import.meta.url).pathname;
  await Deno.mkdir(scratch, { recursive: true });
  const root = await Deno.makeTempDir({ dir: scratch, prefix: "islands-" });
  const dirs = {
    islandsDir: join(root, "islands"),
    staticDir: join(root, "static"),
    outDir: join(root, "static", "build"),
    alsoWatch: [],
  };
  await Deno.mkdir(dirs.islandsDir, { recursive: true });
  await Deno.mkdir(dirs.staticDir, { recursive: true });
  await Deno.writeTextFile(join(dirs.staticDir, "app.css"), "body { color: red; }\n");
  const island = (text: string) =>
    Deno.writeTextFile(
      join(dirs.islandsDir, "Hello.tsx"),
      `import { h } from "preact";\nexport default function Hello() { return h("b", null, ${
        JSON.stringify(text)
      }); }\n`,
    );
  await island("one");
  return { root, dirs, island };
}

Deno.test("the island build writes content-hashed bundles and a manifest; watch rebuilds on change", async () => {
  const { root, dirs, island } = await tree();
  try {
    const first = await build(dirs);
    assert.match(first.islands.Hello!, /^\/static\/build\/Hello-[0-9a-f]{12}\.js$/);
    assert.match(first.css, /^\/static\/build\/app-[0-9a-f]{12}\.css$/);
    const js = await Deno.readTextFile(join(dirs.outDir, first.islands.Hello!.split("/").at(-1)!));
    assert.match(js, /"one"/);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(dirs.outDir, "manifest.json"))), first);
    // Same source, same names: browsers keep their cached copies across deploys.
    assert.equal((await build(dirs)).islands.Hello, first.islands.Hello);

    const stop = new AbortController();
    const rebuilt = new Promise<Manifest>((resolve) => {
      void watch(dirs, { signal: stop.signal, onBuild: resolve });
    });
    await new Promise((r) => setTimeout(r, 200));
    await island("two");
    const next = await rebuilt;
    stop.abort();
    assert.notEqual(next.islands.Hello, first.islands.Hello, "a changed island gets a new name");
    assert.match(await Deno.readTextFile(join(dirs.outDir, next.islands.Hello!.split("/").at(-1)!)), /"two"/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
