/**
 * Debian's chromium driven by playwright-core (both installed by `deno task test`), headless, with the flags this
 * network needs: no background networking, no component updates, no sync, no QUIC. Playwright gives each launch a
 * fresh, empty profile.
 */
import { type Browser, chromium } from "playwright-core";

/** Where the browser is installed by scripts/ensure_test_packages.sh. */
export const CHROMIUM = "/usr/bin/chromium";

/** Launches a headless chromium. */
export async function launchBrowser(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: run the tests with \`deno task test\`, which installs Debian's chromium`);
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** tests/out/, where screenshots go for a reviewer to open. */
export async function outDir(): Promise<string> {
  const dir = new URL("./out/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}
