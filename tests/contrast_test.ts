/**
 * Contrast of the colour pairs the pages use, in both themes, computed from static/app.css itself (WCAG 2 relative
 * luminance). This covers states an audit of a still page misses: a tile's flash tints at their strongest.
 */
import assert from "node:assert/strict";

const css = await Deno.readTextFile(new URL("../static/app.css", import.meta.url));

/** The custom properties of the first rule whose selector is `selector`. */
function vars(selector: string): Record<string, string> {
  const at = css.indexOf(`${selector} {`);
  assert.ok(at >= 0, selector);
  const body = css.slice(at, css.indexOf("}", at));
  return Object.fromEntries([...body.matchAll(/(--[\w-]+):\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]));
}

type Rgba = [number, number, number, number];
function parse(c: string): Rgba {
  const hex = /^#([0-9a-f]{6})$/i.exec(c);
  if (hex) {
    const n = parseInt(hex[1]!, 16);
    return [n >> 16, (n >> 8) & 255, n & 255, 1];
  }
  const rgba = /^rgba\((\d+),\s*(\d+),\s*(\d+),\s*([\d.]+)\)$/.exec(c);
  assert.ok(rgba, `colour ${c}`);
  return [+rgba[1]!, +rgba[2]!, +rgba[3]!, +rgba[4]!];
}
/** `top` painted over the opaque `under`. */
const over = (top: Rgba, under: Rgba): Rgba =>
  [0, 1, 2].map((i) => top[i]! * top[3] + under[i]! * (1 - top[3])).concat(1) as Rgba;
const luminance = ([r, g, b]: Rgba) => {
  const lin = (v: number) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
};
function ratio(a: Rgba, b: Rgba): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

for (const theme of ["dark", "light"] as const) {
  Deno.test(`every text colour keeps 4.5:1 on its background in the ${theme} theme, flashes included`, () => {
    const v = { ...vars(":root"), ...(theme === "light" ? vars('[data-theme="light"]') : {}) };
    const c = (name: string) => parse(v[name]!);
    const pairs: [string, Rgba, Rgba][] = [
      ["text on the page", c("--fg"), c("--bg")],
      ["text on a panel", c("--fg"), c("--panel")],
      ["muted text on a panel", c("--muted"), c("--panel")],
      ["muted text on a pill", c("--muted"), c("--panel-2")],
      ["up on a panel", c("--up"), c("--panel")],
      ["down on a panel", c("--down"), c("--panel")],
      ["up on a pill", c("--up"), c("--panel-2")],
      ["down on a pill", c("--down"), c("--panel-2")],
      ["warning on a pill", c("--warn"), c("--panel-2")],
      ["links on the page", c("--accent"), c("--bg")],
      ["links on a panel", c("--accent"), c("--panel")],
      ["a filled button", parse("#ffffff"), c("--accent-bg")],
      ["a price flashing up", c("--fg"), over(c("--up-bg"), c("--panel"))],
      ["a price flashing down", c("--fg"), over(c("--down-bg"), c("--panel"))],
    ];
    const low = pairs.map(([what, fg, bg]) => [what, Math.round(ratio(fg, bg) * 100) / 100] as const)
      .filter(([, r]) => r < 4.5);
    assert.deepEqual(low, []);
  });
}
