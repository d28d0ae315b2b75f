/**
 * `deno task backfill --symbols AAPL,MSFT --from 2021-01-01 [--to 2021-12-31] [--interval 1d|1m]`
 *
 * Fetches history for the given symbols into the store the app uses (the same env: DATA_DIR or CLICKHOUSE_URL,
 * YAHOO_API_BASE, MASSIVE_API_KEY). Shows a progress bar on a terminal and plain lines otherwise. Ctrl-C stops
 * after the units in flight; each finished unit is remembered in KV, so running the same command again resumes.
 *
 * With the embedded store, chDB holds its data directory for one process. To backfill while the app runs, add
 * `--url http://127.0.0.1:8000`: the running instance does the work (POST /api/v1/admin/backfill, loopback only,
 * with the token in DATA_DIR/admin-token) and this command shows its progress the same way.
 *
 * Exit codes: 0 done (some symbols may be reported unknown), 1 every symbol failed, 2 bad arguments, 130 stopped.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseIsoTime } from "../schema/time.ts";
import { symbolSchema } from "../schema/symbol.ts";
import { ConfigError, parseEnv } from "../schema/env.ts";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "../store/migrate.ts";
import { openStore } from "../store/open.ts";
import { join } from "node:path";
import type { BackfillRun } from "../schema/backfill.ts";
import { backfillCheckpoint, backfillEnd } from "./backfill_runs.ts";
import { runOhlcvFetch, type RunResult } from "./ohlcv_job.ts";
import { politeFetch } from "./polite_fetch.ts";
import { progressBar, progressLine } from "./progress.ts";
import { FETCH_INTERVALS, historyProvider } from "./providers.ts";

const date = (what: string) =>
  z.string({ error: `--${what} is required (YYYY-MM-DD)` }).regex(/^\d{4}-\d{2}-\d{2}$/, {
    error: `--${what} must be a date, YYYY-MM-DD`,
  }).transform((s, ctx) => {
    // The API's own ISO parser: it refuses 2021-02-30, which Date.parse rolls over into March.
    const t = parseIsoTime(s);
    if (t === undefined) {
      ctx.addIssue({ code: "custom", message: `--${what} ${s} is not a calendar date` });
      return z.NEVER;
    }
    return t;
  });

/** The command line of the backfill. */
export const backfillArgs = z.object({
  symbols: z.string({ error: "--symbols is required (AAPL,MSFT,...)" }).transform((s) => s.split(",").filter(Boolean))
    .pipe(z.array(symbolSchema).min(1, { error: "--symbols names at least one symbol" }).max(5_000)),
  from: date("from"),
  to: date("to").optional(),
  interval: z.enum(FETCH_INTERVALS, { error: "--interval must be 1d or 1m" }).default("1d"),
}).refine((a) => a.to === undefined || a.from < a.to, { path: ["to"], error: "--from must be before --to" });

/** Runs the backfill CLI with `args` and `env`; returns the exit code. */
export async function backfill(args: string[], env: Record<string, string | undefined>): Promise<number> {
  let parsed;
  try {
    const { values } = parseArgs({
      args,
      options: {
        symbols: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        interval: { type: "string" },
        url: { type: "string" },
      },
      strict: true,
    });
    parsed = backfillArgs.parse(values);
    if (values.url !== undefined) return await backfillRunning(values.url, parsed, env);
  } catch (err) {
    const msg = err instanceof z.ZodError ? err.issues.map((i) => i.message).join("; ") : (err as Error).message;
    console.error(`backfill: ${msg}`);
    console.error(
      "usage: deno task backfill --symbols AAPL,MSFT --from 2021-01-01 [--to 2021-12-31] [--interval 1d|1m] " +
        "[--url http://127.0.0.1:8000]",
    );
    return 2;
  }
  let config;
  try {
    config = parseEnv(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const to = parsed.to ?? backfillEnd(parsed.interval, Date.now());

  await Deno.mkdir(config.dataDir, { recursive: true });
  const kv = await Deno.openKv(config.kvPath);
  const store = await openStore(config);
  const abort = new AbortController();
  const onSignal = () => {
    if (!abort.signal.aborted) {
      console.error("\nbackfill: stopping after the requests in flight (Ctrl-C again to quit now)");
    } else Deno.exit(130);
    abort.abort(new Error("stopped by the user"));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  try {
    await migrate(store, await loadMigrations(MIGRATIONS_DIR));
    const fetch = politeFetch({ signal: abort.signal, concurrency: 4, ratePerSecond: 8 });
    const result = await runOhlcvFetch({
      store,
      provider: historyProvider(config, fetch),
      symbols: parsed.symbols,
      intervals: [parsed.interval],
      from: parsed.from,
      to,
      job: "backfill",
      signal: abort.signal,
      checkpoint: backfillCheckpoint(kv),
      onProgress: (p) => {
        if (tty) Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${progressBar(p)}`));
        else console.log(progressLine(p));
      },
    });
    if (tty) Deno.stderr.writeSync(enc.encode("\n"));
    const f = result.findings;
    console.log(summary(result.status, result.rowsWritten, result.symbols, f));
    for (const e of [...f.unknownSymbols.examples, ...f.errors.examples]) console.log(`  ${e.symbol}: ${e.message}`);
    if (result.status === "cancelled") {
      console.log("backfill stopped; run the same command again to resume");
      return 130;
    }
    return result.status === "failed" ? 1 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await store.close();
    kv.close();
  }
}

/** The summary line of a finished run, the same in both modes. */
function summary(status: string, rowsWritten: number, symbols: number, f: RunResult["findings"]): string {
  return `backfill ${status}: ${rowsWritten} candles written for ${symbols} symbols; ` +
    `findings: ${f.ohlc.count} OHLC, ${f.gaps.count} gaps, ${f.duplicates.count} duplicates, ${f.jumps.count} jumps, ` +
    `${f.unknownSymbols.count} unknown symbols, ${f.errors.count} failed`;
}

/**
 * Asks the instance at `url` to run the backfill and follows its progress until it ends. The admin token comes from
 * DATA_DIR/admin-token: this must run on the instance's machine, with its DATA_DIR.
 */
async function backfillRunning(
  url: string,
  a: z.infer<typeof backfillArgs>,
  env: Record<string, string | undefined>,
): Promise<number> {
  const dataDir = env.DATA_DIR || "./data";
  let token: string;
  try {
    token = (await Deno.readTextFile(join(dataDir, "admin-token"))).trim();
  } catch {
    console.error(`backfill: no admin token in ${dataDir}/admin-token: is DATA_DIR the running instance's?`);
    return 2;
  }
  const base = url.replace(/\/+$/, "");
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json?.error?.message ?? `HTTP ${res.status}`);
    return json as BackfillRun;
  };
  let run: BackfillRun;
  try {
    run = await call("POST", "/api/v1/admin/backfill", {
      symbols: a.symbols,
      from: a.from,
      ...(a.to === undefined ? {} : { to: a.to }),
      interval: a.interval,
    });
  } catch (err) {
    console.error(`backfill: ${base} refused: ${(err as Error).message}`);
    return 1;
  }
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let shown = "";
  // The instance reports progress on request: ask twice a second, print when it moved.
  while (run.status === "running") {
    const line = tty ? progressBar(run.progress) : progressLine(run.progress);
    if (line !== shown) {
      if (tty) Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${line}`));
      else console.log(line);
      shown = line;
    }
    await new Promise((r) => setTimeout(r, 500));
    try {
      run = await call("GET", `/api/v1/admin/backfill/${run.id}`);
    } catch (err) {
      console.error(`\nbackfill: lost the instance (${(err as Error).message}); the run goes on there`);
      return 1;
    }
  }
  if (tty) Deno.stderr.writeSync(enc.encode("\n"));
  else console.log(progressLine(run.progress));
  if (run.status === "error" || !run.result) {
    console.error(`backfill failed: ${run.error ?? run.status}`);
    return 1;
  }
  const f = run.result.findings as RunResult["findings"];
  console.log(summary(run.status, run.result.rowsWritten, run.symbols.length, f));
  for (const e of [...f.unknownSymbols.examples, ...f.errors.examples]) console.log(`  ${e.symbol}: ${e.message}`);
  return run.status === "failed" ? 1 : run.status === "cancelled" ? 130 : 0;
}

if (import.meta.main) Deno.exit(await backfill(Deno.args, Deno.env.toObject()));
