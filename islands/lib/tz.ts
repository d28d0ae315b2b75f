/**
 * Which clock the dashboard shows times in: the exchange's (America/New_York for US equities, the default, as
 * trading platforms do) or the browser's own. The choice lives in localStorage and applies to every page; a change
 * is announced with a `tzchange` event so every island re-renders at once.
 */
export type TimeZoneSetting = "exchange" | "local";

import { EXCHANGE_TZ } from "../../schema/exchange.ts";

const KEY = "bb-tz";

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * An `en-US` formatter for `opts` in `zone` (undefined: the browser's), made once: tables and chart axes format
 * many times per render, and building a DateTimeFormat costs far more than using one.
 */
export function dateFormat(opts: Intl.DateTimeFormatOptions, zone: string | undefined): Intl.DateTimeFormat {
  const key = `${zone ?? ""}|${JSON.stringify(opts)}`;
  let f = formatters.get(key);
  if (!f) formatters.set(key, f = new Intl.DateTimeFormat("en-US", { ...opts, ...(zone ? { timeZone: zone } : {}) }));
  return f;
}

export function timeZoneSetting(): TimeZoneSetting {
  try {
    return globalThis.localStorage?.getItem(KEY) === "local" ? "local" : "exchange";
  } catch {
    return "exchange";
  }
}

export function setTimeZoneSetting(s: TimeZoneSetting): void {
  try {
    globalThis.localStorage?.setItem(KEY, s);
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
  globalThis.dispatchEvent?.(new Event("tzchange"));
}

/** The IANA zone to format in; undefined means the browser's own. */
export function activeZone(): string | undefined {
  return timeZoneSetting() === "exchange" ? EXCHANGE_TZ : undefined;
}

/** The short label of the active zone at `ms` (ET for New York; the browser's abbreviation otherwise). */
export function zoneLabel(ms = Date.now()): string {
  const zone = activeZone();
  if (zone === EXCHANGE_TZ) return "ET";
  const part = dateFormat({ timeZoneName: "short" }, undefined).formatToParts(ms).find((p) =>
    p.type === "timeZoneName"
  );
  return part?.value ?? "local";
}

/**
 * Chart options that draw times in the chosen zone: axis labels and the crosshair's time. Daily candles are
 * stamped at midnight UTC of their exchange date, so they are always read in UTC (a date, not an instant).
 *
 * @param daily whether the chart currently shows daily candles.
 */
export function chartTimeOptions(daily: () => boolean) {
  const fmt = (sec: number, opts: Intl.DateTimeFormatOptions) =>
    dateFormat(opts, daily() ? "UTC" : activeZone()).format(sec * 1000);
  const hm: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return {
    localization: {
      timeFormatter: (t: unknown) =>
        typeof t !== "number"
          ? String(t)
          : daily()
          ? fmt(t, { year: "numeric", month: "short", day: "numeric" })
          : `${fmt(t, { month: "short", day: "numeric", ...hm })} ${zoneLabel(t * 1000)}`,
    },
    timeScale: {
      // Tick mark kinds: 0 year, 1 month, 2 day of month, 3 time, 4 time with seconds.
      tickMarkFormatter: (t: unknown, kind: number) => {
        if (typeof t !== "number") return null;
        if (kind === 0) return fmt(t, { year: "numeric" });
        if (kind === 1) return fmt(t, { month: "short" });
        if (kind === 2) return fmt(t, { day: "numeric" });
        if (kind === 3) return fmt(t, hm);
        return fmt(t, { ...hm, second: "2-digit" });
      },
    },
  };
}

/** Re-renders the calling island when the time-zone setting changes (on this page or another tab). */
export function onTimeZoneChange(fn: () => void): () => void {
  const storage = (e: Event) => (e as Event & { key?: string }).key === KEY && fn();
  globalThis.addEventListener("tzchange", fn);
  globalThis.addEventListener("storage", storage);
  return () => {
    globalThis.removeEventListener("tzchange", fn);
    globalThis.removeEventListener("storage", storage);
  };
}
