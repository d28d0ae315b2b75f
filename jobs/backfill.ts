/**
 * `deno task backfill --symbols AAPL,MSFT --from 2021-01-01 [--to 2021-12-31] [--interval 1d|1m]`
 *
 * Fetches history for the given symbols into the store the app uses (the same env: DATA_DIR or CLICKHOUSE_URL,
 * YAHOO_API_BASE, MASSIVE_API_KEY). Shows a progress bar on a terminal and plain lines otherwise. Ctrl-C stops
 * after the units in flight; each finished unit is remembered in KV, so running the same command again resumes.
 *
 * With the embedded store, chDB holds its data directory for one process: stop the app first, or give the app and
 * the backfill a ClickHouse server (CLICKHOUSE_URL).
 *
 * Exit codes: 0 done (some symbols may be reported unknown), 1 every symbol failed, 2 bad arguments, 130 stopped.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { keys } from "../actors/keys.ts";
import { parseIsoTime } from "../schema/time.ts";
import { symbolSchema } from "../schema/symbol.ts";
import { ConfigError, parseEnv } from "../schema/env.ts";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "../store/migrate.ts";
import { openStore } from "../store/open.ts";
import { runOhlcvFetch } from "./ohlcv_job.ts";
import { politeFetch } from "./polite_fetch.ts";
import { progressBar, progressLine } from "./progress.ts";
import { FETCH_INTERVALS, historyProvider } from "./providers.ts";

const DAY = 86_400_000;

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
      },
      strict: true,
    });
    parsed = backfillArgs.parse(values);
  } catch (err) {
    const msg = err instanceof z.ZodError ? err.issues.map((i) => i.message).join("; ") : (err as Error).message;
    console.error(`backfill: ${msg}`);
    console.error(
      "usage: deno task backfill --symbols AAPL,MSFT --from 2021-01-01 [--to 2021-12-31] [--interval 1d|1m]",
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
  // A stable end (today's start, or the minute) keeps the units of a rerun the same, so finished ones are skipped.
  const now = Date.now();
  const to = parsed.to ?? (parsed.interval === "1d" ? Math.floor(now / DAY) * DAY : Math.floor(now / 60_000) * 60_000);

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
      checkpoint: {
        done: async (unit) => (await kv.get(keys.backfillDone(unit))).value !== null,
        mark: async (unit) => void await kv.set(keys.backfillDone(unit), Date.now(), { expireIn: 30 * DAY }),
      },
      onProgress: (p) => {
        if (tty) Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${progressBar(p)}`));
        else console.log(progressLine(p));
      },
    });
    if (tty) Deno.stderr.writeSync(enc.encode("\n"));
    const f = result.findings;
    console.log(
      `backfill ${result.status}: ${result.rowsWritten} candles written for ${result.symbols} symbols; ` +
        `findings: ${f.ohlc.count} OHLC, ${f.gaps.count} gaps, ${f.duplicates.count} duplicates, ${f.jumps.count} jumps, ` +
        `${f.unknownSymbols.count} unknown symbols, ${f.errors.count} failed`,
    );
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

if (import.meta.main) Deno.exit(await backfill(Deno.args, Deno.env.toObject()));
