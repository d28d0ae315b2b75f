/**
 * The image's build steps, run as a script in a clean directory (this machine has no container runtime to build the
 * image itself): the deps and build stages of the Dockerfile, their COPY and RUN instructions in order, with the
 * image's paths mapped into a temporary root, then the runtime stage's `deno cache`. What the image would hold at
 * the end must work: Deno's binary, the island bundles, the module graph of both entries.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

interface Step {
  op: "WORKDIR" | "COPY" | "RUN";
  arg: string;
}

/** The instructions of one stage, continuation lines joined. */
function stage(dockerfile: string, name: string): Step[] {
  const lines = dockerfile.replace(/\\\n\s*/g, " ").split("\n");
  const start = lines.findIndex((l) => new RegExp(`^FROM \\S+ AS ${name}$`).test(l));
  assert.ok(start >= 0, `stage ${name}`);
  const out: Step[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith("FROM ")) break;
    const m = /^(WORKDIR|COPY|RUN) (.*)$/.exec(l);
    if (m) out.push({ op: m[1] as Step["op"], arg: m[2]! });
  }
  return out;
}

async function sh(cmd: string, cwd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `${cmd}\n${text.slice(-2_000)}`);
}

Deno.test("the Dockerfile's build steps, run in a clean directory, produce a working Deno, the bundles and a cached graph", async () => {
  const dockerfile = await Deno.readTextFile(join(ROOT, "Dockerfile"));
  const tmp = await Deno.makeTempDir({ prefix: "breadboard-image-" });
  const map = (s: string) =>
    s.replaceAll("/usr/local/bin/deno-bin", `${tmp}/bin/deno-bin`).replaceAll("/opt/deno", `${tmp}/opt/deno`)
      .replaceAll("/app", `${tmp}/app`);
  await Deno.mkdir(`${tmp}/bin`, { recursive: true });
  // The build context: tracked files, as .dockerignore leaves them.
  const tracked = new TextDecoder().decode(
    (await new Deno.Command("git", { args: ["ls-files", "-z"], cwd: ROOT, stdout: "piped" }).output()).stdout,
  ).split("\0").filter(Boolean);
  try {
    let cwd = tmp;
    for (const step of [...stage(dockerfile, "deps"), ...stage(dockerfile, "build")]) {
      if (step.op === "WORKDIR") {
        cwd = map(step.arg);
        await Deno.mkdir(cwd, { recursive: true });
      } else if (step.op === "COPY") {
        const parts = step.arg.split(" ");
        const files = parts.slice(0, -1);
        const list = files.includes(".") ? tracked : files;
        for (const f of list) {
          await Deno.mkdir(join(cwd, f, ".."), { recursive: true });
          await Deno.copyFile(join(ROOT, f), join(cwd, f));
        }
      } else {
        await sh(map(step.arg), cwd);
      }
    }
    const deno = `${tmp}/bin/deno-bin`;
    const version = new TextDecoder().decode((await new Deno.Command(deno, { args: ["--version"] }).output()).stdout);
    assert.match(version, /^deno 2\.9\.6 /);
    const manifest = JSON.parse(await Deno.readTextFile(`${tmp}/app/static/build/manifest.json`));
    assert.deepEqual(Object.keys(manifest.islands).sort(), ["Alerts", "History", "Monitor", "Settings"], "bundles");
    // The runtime stage caches both entries' module graphs.
    const cache = /^RUN (deno cache .*)$/m.exec(dockerfile.slice(dockerfile.indexOf("AS runtime")))?.[1];
    assert.ok(cache, "the runtime stage caches the graph");
    await sh(`DENO_DIR=${tmp}/app/.deno ${deno} ${cache!.slice("deno ".length)}`, `${tmp}/app`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
