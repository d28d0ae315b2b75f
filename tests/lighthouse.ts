/** Runs Lighthouse (the npm package, on Node) against a page in Debian's chromium and returns its report. */

const ROOT = new URL("../", import.meta.url).pathname;

/** The parts of a Lighthouse report the tests and the bench read. */
export interface LighthouseReport {
  categories: Record<string, { score: number | null }>;
  audits: Record<string, {
    id: string;
    score: number | null;
    scoreDisplayMode: string;
    numericValue?: number;
    displayValue?: string;
    title: string;
  }>;
}

/**
 * Audits `url` in `categories` (mobile form factor, Lighthouse's default), with `cookie` sent (a theme, say).
 * Chromium runs headless with the flags this network needs (no background connections).
 */
export async function lighthouse(
  url: string,
  categories: string[],
  opts: { cookie?: string; desktop?: boolean } = {},
): Promise<LighthouseReport> {
  const out = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const args = [
      `${ROOT}node_modules/lighthouse/cli/index.js`,
      url,
      "--quiet",
      "--output=json",
      `--output-path=${out}`,
      `--only-categories=${categories.join(",")}`,
      "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run " +
      "--disable-background-networking --disable-component-update --disable-sync",
      ...(opts.cookie ? [`--extra-headers=${JSON.stringify({ Cookie: opts.cookie })}`] : []),
      ...(opts.desktop ? ["--preset=desktop"] : []),
    ];
    const command = new Deno.Command("node", {
      args,
      env: { CHROME_PATH: Deno.env.get("CHROME_PATH") ?? "/usr/bin/chromium" },
      stdout: "piped",
      stderr: "piped",
    });
    let run = await command.output();
    // Lighthouse's own trace recording sometimes loses the navigation on a loaded machine (NO_NAVSTART,
    // NO_FCP): the tool asks to be run again. Only that is retried, twice; a low score never is.
    for (let again = 0; again < 2 && !run.success && /Please run Lighthouse again/.test(decode(run.stderr)); again++) {
      run = await command.output();
    }
    if (!run.success) throw new Error(`lighthouse ${url}: ${decode(run.stderr).slice(-2000)}`);
    return JSON.parse(await Deno.readTextFile(out)) as LighthouseReport;
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** The audits that count against a score and did not pass, as "id (value)". */
export function failing(r: LighthouseReport): string[] {
  return Object.values(r.audits)
    .filter((a) =>
      a.score !== null && a.score < 1 && (a.scoreDisplayMode === "binary" || a.scoreDisplayMode === "numeric")
    )
    .map((a) => `${a.id}${a.displayValue ? ` (${a.displayValue})` : ""}`);
}
