/**
 * Lighthouse on every page, in both themes: accessibility, best practices and SEO at 98 or more, and layout shift under
 * 0.1 at phone width. Timing scores (performance) depend on the machine's load and are measured by
 * bench/lighthouse_bench.ts instead.
 */
import assert from "node:assert/strict";
import { startApp } from "./app_process.ts";
import { failing, lighthouse } from "./lighthouse.ts";

const PAGES = ["/", "/history", "/alerts", "/settings"];

Deno.test("Lighthouse: every page scores 98+ in accessibility, best practices and SEO, in both themes; CLS < 0.1 on a phone", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-lighthouse-" });
  const app = await startApp({
    DATA_DIR: dataDir,
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    SYMBOLS: "AAPL,MSFT,NVDA",
  });
  try {
    const low: string[] = [];
    for (const page of PAGES) {
      for (const theme of ["dark", "light"]) {
        const categories = theme === "dark"
          ? ["accessibility", "best-practices", "seo", "performance"]
          : ["accessibility", "best-practices", "seo"];
        const r = await lighthouse(`http://127.0.0.1:${app.port}${page}`, categories, { cookie: `bb_theme=${theme}` });
        for (const name of ["accessibility", "best-practices", "seo"]) {
          const score = r.categories[name]?.score ?? 0;
          if (score < 0.98) low.push(`${page} ${theme} ${name} ${score}: ${failing(r).join(", ")}`);
        }
        const cls = r.audits["cumulative-layout-shift"]?.numericValue;
        if (theme === "dark") {
          assert.ok(cls !== undefined, "CLS measured");
          if (cls >= 0.1) low.push(`${page} layout shift ${cls.toFixed(3)} on a phone`);
        }
      }
    }
    assert.deepEqual(low, []);
  } finally {
    app.child.kill("SIGTERM");
    await app.finished;
    await Deno.remove(dataDir, { recursive: true });
  }
});
