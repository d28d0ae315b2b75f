/**
 * The dashboard in headless chromium (Debian's, through playwright-core), with the app on the synthetic feed at
 * 2,500 ticks/s over the seven default symbols:
 *
 * - JavaScript transferred per page (encoded bytes of every script response: gzip from the server), cold cache;
 * - first contentful paint of each page, against the server-rendered /docs page that ships no JavaScript (baseline);
 * - time to live on the Monitor: navigation start to the first tick drawn;
 * - frames per second of the Monitor (live chart and tiles updating) during 5 s, against the same count on /docs.
 *
 * Each measurement is taken once per run (a browser session is expensive); Deno.bench's time column is the run's.
 */
import { startApp } from "../tests/app_process.ts";
import { launchBrowser } from "../tests/browser.ts";
import { updateTick } from "../schema/quote.ts";

const PAGES = ["/", "/history", "/alerts", "/settings"] as const;

interface PageFigures {
  path: string;
  jsBytes: number;
  jsFiles: number;
  fcpMs: number;
}

async function measure() {
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-ui-bench-" });
  const app = await startApp({
    DATA_DIR: dataDir,
    FEED: "synthetic",
    SYNTHETIC_ALWAYS_OPEN: "true",
    SYNTHETIC_RATE: "2500",
  });
  const browser = await launchBrowser();
  const base = `http://127.0.0.1:${app.port}`;
  try {
    // Let every symbol have a quote and a minute of candles.
    await new Promise((r) => setTimeout(r, 3_000));
    // One throwaway load, so the browser's own start-up is not in the first page's figures.
    const warm = await browser.newPage();
    await warm.goto(base + "/docs");
    await warm.close();
    const pages: PageFigures[] = [];
    for (const path of ["/docs", ...PAGES]) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      const scripts: Promise<number>[] = [];
      page.on("requestfinished", (req) => {
        if (req.resourceType() === "script") scripts.push(req.sizes().then((s) => s.responseBodySize));
      });
      await page.goto(base + path, { waitUntil: "networkidle" });
      const fcpMs = await page.evaluate<number>(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1",
      );
      const sizes = await Promise.all(scripts);
      pages.push({ path, jsBytes: sizes.reduce((a, b) => a + b, 0), jsFiles: sizes.length, fcpMs });
      await ctx.close();
    }

    const fps = async (path: string) => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      await page.goto(base + path);
      if (path === "/") {
        await page.locator("body[data-live]").waitFor({ state: "attached", timeout: 20_000 });
      }
      const liveMs = path === "/" ? await page.evaluate<number>("Number(document.body.dataset.live)") : 0;
      const frames = await page.evaluate<number>(`new Promise((resolve) => {
        let n = 0;
        const end = performance.now() + 5000;
        const tick = (t) => { n++; if (t < end) requestAnimationFrame(tick); else resolve(n / 5); };
        requestAnimationFrame(tick);
      })`);
      await ctx.close();
      return { frames, liveMs };
    };
    /**
     * Event to pixel: the Monitor's own `bb:tick-shown` marks (tick server time to the tile on screen) over 10 s,
     * against the age of the same stream at receipt by a WebSocket client in this process (the part that is not the
     * page's).
     */
    const eventToPixel = async () => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      await page.goto(base + "/");
      await page.locator("body[data-live]").waitFor({ state: "attached", timeout: 20_000 });
      const received: number[] = [];
      const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws/realtime`);
      await new Promise((r) => ws.onopen = r);
      ws.send(JSON.stringify({
        type: "subscribe",
        symbols: await page.evaluate<string[]>(
          "[...document.querySelectorAll('[data-symbol]')].map((e) => e.dataset.symbol)",
        ),
      }));
      await page.evaluate("performance.clearMarks('bb:tick-shown')");
      ws.onmessage = (ev) => {
        const m = JSON.parse(String(ev.data));
        if (m.type === "batch") { for (const q of m.quotes) received.push(Date.now() - updateTick(q).time); }
      };
      const shown: number[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 2_000));
        shown.push(
          ...await page.evaluate<number[]>(`(() => {
          const ms = performance.getEntriesByName("bb:tick-shown").map((m) => m.detail.ms);
          performance.clearMarks("bb:tick-shown");
          return ms;
        })()`),
        );
      }
      ws.close();
      await ctx.close();
      const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] ?? NaN;
      return {
        n: shown.length,
        p50: pct(shown, 0.5),
        p99: pct(shown, 0.99),
        receivedP50: pct(received, 0.5),
        receivedP99: pct(received, 0.99),
      };
    };
    const idle = await fps("/docs");
    const monitor = await fps("/");
    const pixel = await eventToPixel();
    return { pages, idleFps: idle.frames, monitorFps: monitor.frames, liveMs: monitor.liveMs, pixel };
  } finally {
    await browser.close();
    app.child.kill("SIGTERM");
    await app.finished;
    await Deno.remove(dataDir, { recursive: true });
  }
}

let run: ReturnType<typeof measure> | undefined;
const once = () => run ??= measure();
let printed = false;

Deno.bench({ name: "dashboard pages in chromium (synthetic feed 2,500 ticks/s)", n: 1, warmup: 0 }, async () => {
  const r = await once();
  if (printed) return;
  printed = true;
  const docs = r.pages.find((p) => p.path === "/docs")!;
  console.log("\npage        JS transferred (gzip)   scripts   first contentful paint   vs /docs (no JS)");
  for (const p of r.pages) {
    console.log(
      `${p.path.padEnd(11)} ${`${(p.jsBytes / 1024).toFixed(1)} KiB`.padStart(21)}   ${
        String(p.jsFiles).padStart(7)
      }   ${`${p.fcpMs.toFixed(0)} ms`.padStart(22)}   ${(p.fcpMs / docs.fcpMs).toFixed(2)}x`,
    );
  }
  console.log(`Monitor time to live (navigation start to first tick drawn): ${r.liveMs} ms`);
  console.log(
    `frames per second: Monitor while ticking ${r.monitorFps.toFixed(1)}, idle /docs ${r.idleFps.toFixed(1)} ` +
      `(${(r.monitorFps / r.idleFps).toFixed(2)}x)`,
  );
  const px = r.pixel;
  console.log(
    `event to pixel (Monitor marks, ${px.n} ticks): p50 ${px.p50} ms, p99 ${px.p99} ms; ` +
      `age at WebSocket receipt in the same run: p50 ${px.receivedP50} ms, p99 ${px.receivedP99} ms ` +
      `(on screen / at receipt at p99: ${(px.p99 / Math.max(1, px.receivedP99)).toFixed(2)}x)`,
  );
});
