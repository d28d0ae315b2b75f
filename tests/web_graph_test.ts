import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

Deno.test("the web entry Deno Deploy runs loads no feed, actor system, writer or chDB, and deno.json names it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "web.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules: string[] = graph.modules.map((m: { specifier: string }) => m.specifier);
  const local = modules.filter((m) => m.startsWith(ROOT.href)).map((m) => m.slice(ROOT.href.length));
  assert.ok(local.includes("roles/web.ts") && local.includes("routes/ws.ts"), local.join(" "));
  // History on demand fetches through the OHLCV job's provider code; scheduling, backfill and backup stay out.
  const forbidden = local.filter((m) =>
    /^(main\.ts|roles\/ingest\.ts|actors\/system\.ts|store\/(embedded|tick_writer|wal|open)\.ts|feeds\/(?!yahoo_rest)|jobs\/(?!(ohlcv_job|providers|polite_fetch|quality|calendar)\.ts))/
      .test(m)
  );
  assert.deepEqual(forbidden, []);
  const npm = JSON.stringify(graph.npmPackages ?? {}) + modules.join(" ");
  assert.doesNotMatch(npm, /chdb/);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assert.equal(config.deploy.runtime.entrypoint, "./web.ts");
});
