/**
 * Which clock the dashboard shows times in: the exchange's (America/New_York for US equities, the default, as
 * trading platforms do) or the browser's own. The choice lives in localStorage and applies to every page; a change
 * is announced with a `tzchange` event so every island re-renders at once.
 */
export type TimeZoneSetting = "exchange" | "local";

/** The exchange's time zone (US equities). */
export const EXCHANGE_TZ = "America/New_York";
const KEY = "bb-tz";

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
  const part = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(ms)
    .find((p) => p.type === "timeZoneName");
  return part?.value ?? "local";
}

/**
 * Chart options that draw times in the chosen zone: axis labels and the crosshair's time. Daily candles are
 * stamped at midnight UTC of their exchange date, so they are always read in UTC (a date, not an instant).
 *
 * @param daily whether the chart currently shows daily candles.
 */
export function chartTimeOptions(daily: () => boolean) {
  const fmt = (sec: number, opts: Intl.DateTimeFormatOptions) => {
    const zone = daily() ? "UTC" : activeZone();
    return new Intl.DateTimeFormat("en-US", { ...opts, ...(zone ? { timeZone: zone } : {}) }).format(sec * 1000);
  };
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
