import assert from "node:assert/strict";
import { createYahooDecoder } from "../feeds/yahoo_decode.ts";
import { spawnApp, startApp } from "./app_process.ts";
import { startFakeYahoo } from "./fake_yahoo.ts";
import { yahooChartHandler } from "./fake_chart.ts";
import { startFakeYahooRest } from "./fake_yahoo_rest.ts";

const SYMBOLS = ["AAPL", "MSFT", "NVDA", "TSLA", "META", "AMZN", "GOOGL", "NFLX"];
const ARGS = ["--symbols", SYMBOLS.join(","), "--from", "2021-01-01", "--to", "2024-01-01"];

function dailyRequests(requests: string[]): string[] {
  return requests.filter((r) => r.includes("interval=1d")).map((r) => r.split("?")[0]!.split("/").at(-1)!);
}

Deno.test("backfill prints progress lines, stops cleanly on Ctrl-C, and a rerun resumes where it stopped", async () => {
  const handler = yahooChartHandler();
  // The first symbol is answered at once; every other request waits until the test has seen the backfill take
  // its Ctrl-C, so the stop always lands mid-run, however slow the machine.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const rest = startFakeYahooRest({
    chart: async (symbol, q) => {
      if (symbol !== SYMBOLS[0]) await gate;
      return handler(symbol, q);
    },
  });
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-backfill-" });
  const env = { DATA_DIR: dataDir, YAHOO_API_BASE: rest.url };
  try {
    const first = spawnApp(env, "jobs/backfill.ts", ARGS);
    await first.waitFor(/^backfill: 1\/8 symbols, \d+ candles, \d+ candles\/s, ETA \d+:\d\d$/);
    first.child.kill("SIGINT");
    await first.waitFor(/^backfill: stopping after the requests in flight/);
    release();
    const stopped = await first.finished;
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.ok(first.stdout.some((l) => l === "backfill stopped; run the same command again to resume"));
    assert.match(first.stdout.find((l) => l.startsWith("backfill cancelled:"))!, /candles written for 8 symbols/);
    const doneFirst = new Set(dailyRequests(rest.requests));
    const requestsFirst = rest.requests.length;
    assert.ok(doneFirst.size < SYMBOLS.length, "stopped before the end");

    const second = spawnApp(env, "jobs/backfill.ts", ARGS);
    const end = await second.finished;
    assert.equal(end.code, 0, end.stderr);
    const summary = second.stdout.find((l) => l.startsWith("backfill ok:"))!;
    assert.match(summary, /findings: 0 OHLC, 0 gaps, 0 duplicates, 0 jumps, 0 unknown symbols, 0 failed/);
    const rerun = dailyRequests(rest.requests.slice(requestsFirst));
    // Symbols finished before the stop are not fetched again; the ones cut off in flight are.
    const finishedFirst = Number(
      /^backfill: (\d+)\/8/.exec(first.stdout.filter((l) => l.startsWith("backfill: ")).at(-1)!)![1],
    );
    assert.equal(rerun.length, SYMBOLS.length - finishedFirst, `rerun fetched ${rerun}`);

    // A third run has nothing left to do and writes nothing.
    const third = spawnApp(env, "jobs/backfill.ts", ARGS);
    assert.equal((await third.finished).code, 0);
    assert.match(third.stdout.find((l) => l.startsWith("backfill ok:"))!, /^backfill ok: 0 candles written/);
  } finally {
    await rest.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("backfill refuses bad arguments with a usage line and exit code 2", async () => {
  for (
    const [args, msg] of [
      [["--from", "2021-01-01"], /--symbols is required/],
      [["--symbols", "AAPL", "--from", "2021-13-45"], /not a calendar date/],
      [["--symbols", "AAPL", "--from", "2021-02-30"], /not a calendar date/],
      [["--symbols", "AAPL", "--from", "2022-01-01", "--to", "2021-01-01"], /--from must be before --to/],
      [["--symbols", "AA PL", "--from", "2021-01-01"], /ticker symbol/],
      [["--symbols", "AAPL", "--from", "2021-01-01", "--interval", "5m"], /--interval must be 1d or 1m/],
      [["--symbols", "AAPL", "--from", "2021-01-01", "--bogus"], /Unknown option '--bogus'/],
    ] as const
  ) {
    const run = spawnApp({ DATA_DIR: "/nonexistent/never-created" }, "jobs/backfill.ts", [...args]);
    const end = await run.finished;
    assert.equal(end.code, 2, `${args.join(" ")}: ${end.stderr}`);
    assert.match(end.stderr, msg);
    assert.match(end.stderr, /usage: deno task backfill/);
  }
});

Deno.test("backfill --url runs inside the running app with the same progress; the app serves what it wrote", async () => {
  const handler = yahooChartHandler({ known: new Set(["AAPL", "IBM", "ORCL"]) });
  const rest = startFakeYahooRest({ chart: handler });
  const yahoo = startFakeYahoo(await createYahooDecoder());
  const dataDir = await Deno.makeTempDir({ prefix: "breadboard-backfill-app-" });
  const app = await startApp({ DATA_DIR: dataDir, YAHOO_API_BASE: rest.url, YAHOO_WS_URL: yahoo.url, SYMBOLS: "AAPL" });
  const base = `http://127.0.0.1:${app.port}`;
  try {
    // The embedded store belongs to the app: the command asks the app to do the work and follows it.
    const run = spawnApp({ DATA_DIR: dataDir }, "jobs/backfill.ts", [
      "--symbols",
      "IBM,ORCL,ZZZZ",
      "--from",
      "2022-01-03",
      "--to",
      "2023-01-03",
      "--url",
      base,
    ]);
    const end = await run.finished;
    assert.equal(end.code, 0, end.stderr);
    const lines = run.stdout.filter((l) => /^backfill: \d\/3 symbols, \d+ candles, \d+ candles\/s, ETA /.test(l));
    assert.match(lines.at(-1)!, /^backfill: 3\/3 symbols/, run.stdout.join("\n"));
    assert.ok(
      run.stdout.some((l) => /^backfill partial: \d+ candles written for 3 symbols; .* 1 unknown symbols/.test(l)),
      run.stdout.join("\n"),
    );
    assert.ok(run.stdout.some((l) => /^ {2}ZZZZ: /.test(l)), "the unknown symbol is named");
    // The app serves the year without asking the provider again.
    // Only IBM's chart requests count: the app's own first history fetch of its tracked AAPL may run meanwhile.
    const ibm = () => rest.requests.filter((r) => r.includes("/chart/IBM?")).length;
    const before = ibm();
    const h = await (await fetch(`${base}/api/v1/history?symbol=IBM&interval=1d&from=2022-01-03&to=2023-01-03`)).json();
    assert.ok(h.candles.length >= 245 && h.candles.length <= 255, `${h.candles.length} days`);
    assert.equal(h.fetched, undefined);
    assert.equal(ibm(), before);
    const runs = await (await fetch(`${base}/api/v1/jobs?job=backfill`)).json();
    assert.equal(runs.runs[0].status, "partial");

    // The endpoint itself: loopback with the token only, and bad input named.
    const token = (await Deno.readTextFile(`${dataDir}/admin-token`)).trim();
    const post = (body: unknown, auth = `Bearer ${token}`) =>
      fetch(`${base}/api/v1/admin/backfill`, {
        method: "POST",
        headers: { Authorization: auth, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const noToken = await post({ symbols: "IBM", from: "2022-01-03" }, "Bearer nope");
    assert.equal(noToken.status, 401);
    await noToken.body?.cancel();
    const bad = await post({ symbols: "IBM", from: "2022-02-30" });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await bad.json()), /from: an ISO 8601 date/);
    const unknownRun = await fetch(`${base}/api/v1/admin/backfill/nope`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(unknownRun.status, 404);
    await unknownRun.body?.cancel();
  } finally {
    app.child.kill("SIGTERM");
    await app.finished;
    await yahoo.stop();
    await rest.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
