import type { ComponentChildren } from "preact";

/** The pages of the dashboard, in navigation order. */
export const PAGES = [
  { path: "/", label: "Monitor" },
  { path: "/history", label: "History" },
  { path: "/alerts", label: "Alerts" },
  { path: "/settings", label: "Settings" },
] as const;

/** Page chrome: header with navigation (the current page marked), main content. Rendered on the server only. */
export function Layout({ active, children }: { active: string; children: ComponentChildren }) {
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/">
          <span class="logo" aria-hidden="true">▮▮</span> Breadboard
        </a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.path} href={p.path} aria-current={p.path === active ? "page" : undefined}>{p.label}</a>
          ))}
        </nav>
      </header>
      <main id="main">{children}</main>
    </>
  );
}
