/** The page's value of CSS custom property `name` (the current theme's), or `fallback` before the stylesheet loads. */
export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Chart colours from the page's CSS variables, so charts follow the dark/light theme. */
export function chartColors() {
  const v = cssVar;
  return {
    layout: { background: { color: "transparent" }, textColor: v("--muted", "#8a94a6"), attributionLogo: false },
    grid: { vertLines: { color: v("--grid", "#2a3140") }, horzLines: { color: v("--grid", "#2a3140") } },
  };
}

/** Sets the theme on the page, remembers it in a cookie the server reads, and tells charts to recolour. */
export function setTheme(theme: "dark" | "light"): void {
  document.documentElement.dataset.theme = theme;
  document.cookie = `bb_theme=${theme}; Path=/; Max-Age=31536000; SameSite=Lax`;
  globalThis.dispatchEvent(new Event("themechange"));
}
