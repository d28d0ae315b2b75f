/**
 * Lighthouse performance of each page (mobile, Lighthouse's simulated slow 4G and 4x CPU slowdown), three runs per
 * page, median reported, against the 98 target and against /docs, the server-rendered page that ships no JavaScript,
 * scored in the same run. The other categories are asserted in tests/lighthouse_test.ts.
 */
import { startApp } from "../tests/app_process.ts";
import { lighthouse, type LighthouseReport } from "../tests/lighthouse.ts";
import { once } from "./harness.ts";

const PAGES = ["/docs", "/", "/history", "/alerts", "/settings"] as const;
const RUNS = Number(Deno.env.get("LIGHTHOUSE_RUNS") ?? 3);

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const run = once(async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-lighthouse-bench-" });
  const app = await startApp({ DATA_DIR: dataDir, FEED: "synthetic", SYNTHETIC_ALWAYS_OPEN: "true" });
  try {
    const rows: { page: string; score: number; scores: number[]; tbt: number; lcp: number; cls: number }[] = [];
    for (const page of PAGES) {
      const reports: LighthouseReport[] = [];
      for (let i = 0; i < RUNS; i++) {
        reports.push(await lighthouse(`http://127.0.0.1:${app.port}${page}`, ["performance"]));
      }
      const scores = reports.map((r) => Math.round((r.categories.performance?.score ?? 0) * 100));
      const pick = (id: string) => median(reports.map((r) => r.audits[id]?.numericValue ?? NaN));
      rows.push({
        page,
        score: median(scores),
        scores,
        tbt: pick("total-blocking-time"),
        lcp: pick("largest-contentful-paint"),
        cls: pick("cumulative-layout-shift"),
      });
    }
    return rows;
  } finally {
    app.child.kill("SIGTERM");
    await app.finished;
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.bench({ name: "Lighthouse performance per page (mobile, median of runs)", n: 1, warmup: 0 }, async () => {
  const rows = await run();
  const docs = rows[0]!.score;
  for (const r of rows) {
    console.log(
      `${r.page.padEnd(9)} performance ${r.score} (runs ${r.scores.join(", ")}) · ${
        (r.score / 98).toFixed(2)
      }x the 98 target · ${(r.score / docs).toFixed(2)}x /docs · TBT ${Math.round(r.tbt)} ms · LCP ${
        Math.round(r.lcp)
      } ms · CLS ${r.cls.toFixed(3)}`,
    );
  }
});
