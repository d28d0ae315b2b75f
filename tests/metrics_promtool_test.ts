import assert from "node:assert/strict";
import { startApp } from "./app_process.ts";
import { until } from "./wait.ts";

Deno.test("the live /metrics passes promtool check metrics, and counters are counters", async () => {
  const dir = await Deno.makeTempDir();
  const app = await startApp({
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    DATA_DIR: dir,
    SYNTHETIC_RATE: "200",
  });
  try {
    const base = `http://127.0.0.1:${app.port}`;
    let text = "";
    // Wait for ticks to be accepted so every series has a value worth checking.
    await until(
      async () => {
        text = await (await fetch(`${base}/metrics`)).text();
        return /^breadboard_ticks_accepted_total [1-9]/m.test(text);
      },
      30_000,
      "accepted ticks",
    );
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const out = await child.output();
    const report = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, report);
    for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE "))) {
      const [, , name, type] = line.split(" ");
      if (name!.endsWith("_total")) assert.equal(type, "counter", line);
    }
    for (
      const name of [
        "breadboard_ticks_accepted_total",
        "breadboard_js_heap_bytes",
        "breadboard_event_loop_lag_seconds",
        "breadboard_http_connections",
        "process_open_fds",
      ]
    ) assert.match(text, new RegExp(`^${name} \\d`, "m"), name);
    assert.ok(Number(/^process_open_fds (\d+)/m.exec(text)![1]) > 0, "descriptors are counted");
  } finally {
    app.child.kill("SIGTERM");
    await app.finished;
  }
});
