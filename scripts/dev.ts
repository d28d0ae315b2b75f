/**
 * `deno task dev`: builds the islands, keeps rebuilding them on UI changes, and runs the server under `deno run
 * --watch` so server changes restart it. Pages read the manifest on each request, so a rebuilt island is served on the
 * next reload. Ctrl-C stops both.
 */
import { build, watch } from "./build_islands.ts";
import { START_PERMISSIONS } from "./permissions.ts";

await build();
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--watch",
    ...START_PERMISSIONS,
    "main.ts",
  ],
  cwd: new URL("../", import.meta.url),
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
Deno.addSignalListener("SIGINT", () => {
  server.kill("SIGTERM");
});
void watch();
const status = await server.status;
Deno.exit(status.code);
