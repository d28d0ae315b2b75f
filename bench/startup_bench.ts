/**
 * Start-up of the real entry point (node_modules present) to its first healthy response, with a fresh DATA_DIR
 * (creates the embedded database and applies every migration) against a DATA_DIR from an earlier start (the
 * baseline).
 */
import { startApp } from "../tests/app_process.ts";

async function startToHealthy(dataDir: string): Promise<number> {
  const t0 = performance.now();
  const app = await startApp({ DATA_DIR: dataDir });
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${app.port}/api/v1/health`);
    await res.body?.cancel();
    if (res.status === 200) break;
  }
  const elapsed = performance.now() - t0;
  app.child.kill("SIGTERM");
  await app.finished;
  return elapsed;
}

const warmDir = await Deno.makeTempDir({ prefix: "breadboard-startup-" });
await startToHealthy(warmDir);

Deno.bench(
  { name: "restart on an existing DATA_DIR", group: "start to healthy", baseline: true, n: 5, warmup: 1 },
  async () => {
    await startToHealthy(warmDir);
  },
);

Deno.bench({ name: "first start on an empty DATA_DIR", group: "start to healthy", n: 5, warmup: 1 }, async (b) => {
  const dir = await Deno.makeTempDir({ prefix: "breadboard-startup-" });
  b.start();
  await startToHealthy(dir);
  b.end();
  await Deno.remove(dir, { recursive: true });
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(warmDir, { recursive: true });
});
