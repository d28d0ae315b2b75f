/** Chart colours from the page's CSS variables, so charts follow the dark/light theme. */
export function chartColors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
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
