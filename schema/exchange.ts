/** The time zone of the exchanges Breadboard follows (US equities): sessions, trading days and the times shown. */
export const EXCHANGE_TZ = "America/New_York";

const DAY = 86_400_000;
const MINUTE = 60_000;

/** A moment on the exchange's wall clock. */
export interface ExchangeClock {
  /** The exchange's calendar date, as that date's UTC midnight in epoch ms (the way candles_1d stores days). */
  day: number;
  /** Minutes since the exchange's midnight (0-1439). */
  minute: number;
  /** 0 Sunday … 6 Saturday. */
  weekday: number;
}

const wallFormat = new Intl.DateTimeFormat("en-US", {
  timeZone: EXCHANGE_TZ,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
});

/** Offsets change only on the hour, so the exchange's UTC offset is cached per UTC hour. */
let offsetHour = Number.NaN;
let offsetMs = 0;

/** The exchange's offset from UTC at `time` in ms (-4 h or -5 h for New York). */
export function exchangeOffset(time: number): number {
  const hour = Math.floor(time / 3_600_000);
  if (hour !== offsetHour) {
    const p: Record<string, string> = {};
    for (const x of wallFormat.formatToParts(new Date(hour * 3_600_000))) p[x.type] = x.value;
    const wall = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!);
    offsetMs = wall - hour * 3_600_000;
    offsetHour = hour;
  }
  return offsetMs;
}

/**
 * The exchange's wall clock at `time` (epoch ms): its date, minute of the day and weekday. One Intl call per UTC
 * hour, arithmetic otherwise.
 */
export function exchangeClock(time: number): ExchangeClock {
  const day = exchangeDay(time);
  return {
    day,
    minute: Math.floor((time + exchangeOffset(time) - day) / MINUTE),
    weekday: (Math.floor(day / DAY) + 4) % 7,
  };
}

/**
 * The exchange's calendar date of `time`, as that date's UTC midnight (the trading day a trade belongs to). Actors
 * call it for every tick: arithmetic on the cached offset, no allocation.
 */
export function exchangeDay(time: number): number {
  const wall = time + exchangeOffset(time);
  return wall - ((wall % DAY) + DAY) % DAY;
}

/**
 * When exchange day `day` (a UTC midnight) starts and ends, as epoch ms: from the exchange's midnight to the next
 * one (23 or 25 hours on the days clocks change).
 */
export function exchangeDayRange(day: number): { start: number; end: number } {
  // Midnight's offset, found from a guess: the offset at UTC midnight, then at the instant that guess gives.
  const at = (d: number) => d - exchangeOffset(d - exchangeOffset(d));
  return { start: at(day), end: at(day + DAY) };
}

/** 09:30 on the exchange's clock on `day` (a UTC midnight), as epoch ms: the regular session's open. */
export function exchangeOpen(day: number): number {
  return exchangeDayRange(day).start + 570 * MINUTE;
}

/** A US equity session by name. */
export type UsSession = "pre" | "regular" | "post" | "closed";

/**
 * The US equity session a trade at `time` (epoch ms) falls in: pre 04:00-09:30, regular 09:30-16:00, post
 * 16:00-20:00 New York time on weekdays, otherwise closed. Exchange holidays are not known here and count as their
 * weekday (jobs/calendar.ts knows them).
 */
export function usSession(time: number): UsSession {
  // Feeds ask for every tick: the answer is kept for the minute.
  const minute = Math.floor(time / MINUTE);
  if (minute === sessionMinute) return sessionValue;
  const { minute: m, weekday } = exchangeClock(time);
  sessionValue = weekday === 0 || weekday === 6
    ? "closed"
    : m >= 240 && m < 570
    ? "pre"
    : m >= 570 && m < 960
    ? "regular"
    : m >= 960 && m < 1200
    ? "post"
    : "closed";
  sessionMinute = minute;
  return sessionValue;
}
let sessionMinute = Number.NaN;
let sessionValue: UsSession = "closed";

/** True during US equity trading, pre-market to after-hours: 04:00-20:00 New York time, Monday to Friday. */
export function usMarketActive(time: number): boolean {
  return usSession(time) !== "closed";
}
