/** Runs the app as a real child process, the way `deno task start` does, and reads its log lines. */

import { START_PERMISSIONS } from "../scripts/permissions.ts";

const ROOT = new URL("../", import.meta.url);

/** A child process of the app. */
export interface AppProcess {
  child: Deno.ChildProcess;
  /** Every stdout line so far. */
  stdout: string[];
  /** Every stderr line so far. */
  stderr: string[];
  /** Resolves with the first stdout or stderr line matching `re` (rejects after `timeoutMs` or when the process exits). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Exit status, with all stderr text. */
  finished: Promise<{ code: number; stderr: string }>;
}

/** The environment a child gets: only what Deno needs plus `env`, so nothing from the test run leaks in. */
function childEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  // Tests never reach outside hosts: unless a test names its own, Yahoo's hosts are a closed local port.
  return { ...out, NO_COLOR: "1", YAHOO_WS_URL: "ws://127.0.0.1:9/", YAHOO_API_BASE: "http://127.0.0.1:9", ...env };
}

/**
 * Spawns `script` (default main.ts) under the start task's permissions (or `permissions`); `fdLimit` sets
 * `ulimit -n` first.
 */
export function spawnApp(
  env: Record<string, string>,
  script = "main.ts",
  args: string[] = [],
  fdLimit?: number,
  permissions: readonly string[] = START_PERMISSIONS,
): AppProcess {
  const argv = ["run", ...permissions, script, ...args];
  const child = new Deno.Command(fdLimit === undefined ? Deno.execPath() : "sh", {
    args: fdLimit === undefined ? argv : ["-c", `ulimit -n ${fdLimit} && exec "$0" "$@"`, Deno.execPath(), ...argv],
    cwd: ROOT,
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  let exited = false;
  const stderr: string[] = [];
  // Both streams feed the waiters: a test can wait for a log line or for a message printed to stderr.
  const lines = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    let buf = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        into.push(line);
        for (const w of [...waiters]) {
          if (w.re.test(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
    if (buf) into.push(buf);
  };
  const pump = lines(child.stdout, stdout);
  const stderrText = lines(child.stderr, stderr).then(() => stderr.join("\n"));
  const finished = (async () => {
    const status = await child.status;
    exited = true;
    await pump;
    return { code: status.code, stderr: await stderrText };
  })();
  return {
    child,
    stdout,
    stderr,
    finished,
    waitFor(re: RegExp, timeoutMs = 60_000) {
      const seen = stdout.find((l) => re.test(l)) ?? stderr.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms`)), timeoutMs);
        const entry = {
          re,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(entry);
        finished.then(({ code, stderr }) => {
          if (!exited || !waiters.includes(entry)) return;
          clearTimeout(timer);
          reject(new Error(`exited with ${code} before a line matching ${re}; stderr: ${stderr}`));
        });
      });
    },
  };
}

/** Starts the app on a free port and resolves once it logs that it listens, with the port it chose. */
export async function startApp(
  env: Record<string, string>,
  fdLimit?: number,
  script = "main.ts",
  permissions?: readonly string[],
): Promise<AppProcess & { port: number }> {
  const app = spawnApp({ PORT: "0", ...env }, script, [], fdLimit, permissions);
  const line = await app.waitFor(/"msg":"listening on /);
  const port = JSON.parse(line).port as number;
  return { ...app, port };
}

/**
 * Prints each process's warnings and errors (and its stderr) under `name`: a failed multi-process test then shows
 * what the servers said, not only what the client saw.
 */
export function printLogs(procs: Record<string, AppProcess>): void {
  for (const [name, p] of Object.entries(procs)) {
    const lines = [...p.stdout.filter((l) => /"level":"(warn|error)"/.test(l)), ...p.stderr].slice(-40);
    console.error(`--- ${name}: ${lines.length} warning/error lines ---\n${lines.join("\n")}`);
  }
}

/** Kills each process and waits for it; one that already exited must not hide the error that ended the test. */
export async function killAll(procs: Iterable<AppProcess>): Promise<void> {
  for (const p of procs) {
    try {
      p.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await p.finished;
  }
}
