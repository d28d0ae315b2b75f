/**
 * The NYSE trading calendar: which days the exchange is open, and when a day closes early. Holidays follow the
 * exchange's rules (a Saturday holiday is observed the Friday before, a Sunday one the Monday after; New Year's Day on
 * a Saturday is not moved into the old year). Days are UTC midnights in epoch ms, the way candles_1d stores them.
 */

const DAY = 86_400_000;

const utc = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d);

/** The `n`th (1-based) `weekday` (0 = Sunday) of month `m`; n = -1 is the last. */
function nthWeekday(y: number, m: number, weekday: number, n: number): number {
  if (n > 0) {
    const first = new Date(utc(y, m, 1)).getUTCDay();
    return utc(y, m, 1 + ((weekday - first + 7) % 7) + (n - 1) * 7);
  }
  const lastDay = new Date(utc(y, m + 1, 0));
  return utc(y, m, lastDay.getUTCDate() - ((lastDay.getUTCDay() - weekday + 7) % 7));
}

/** Easter Sunday (Gregorian, anonymous algorithm). */
function easter(y: number): number {
  const a = y % 19, b = Math.floor(y / 100), c = y % 100;
  const d = Math.floor(b / 4), e = b % 4, f = Math.floor((b + 8) / 25), g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30, i = Math.floor(c / 4), k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7, m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31), day = ((h + l - 7 * m + 114) % 31) + 1;
  return utc(y, month, day);
}

/** A fixed-date holiday moved to the nearest weekday. */
function observed(day: number): number {
  const wd = new Date(day).getUTCDay();
  return wd === 6 ? day - DAY : wd === 0 ? day + DAY : day;
}

const cache = new Map<number, Set<number>>();

/** Full-day NYSE holidays of year `y`. */
export function nyseHolidays(y: number): Set<number> {
  let set = cache.get(y);
  if (set) return set;
  const days = [
    nthWeekday(y, 1, 1, 3), // Martin Luther King Jr. Day
    nthWeekday(y, 2, 1, 3), // Washington's Birthday
    easter(y) - 2 * DAY, // Good Friday
    nthWeekday(y, 5, 1, -1), // Memorial Day
    observed(utc(y, 7, 4)), // Independence Day
    nthWeekday(y, 9, 1, 1), // Labor Day
    nthWeekday(y, 11, 4, 4), // Thanksgiving
    observed(utc(y, 12, 25)), // Christmas
  ];
  const newYear = utc(y, 1, 1);
  if (new Date(newYear).getUTCDay() !== 6) days.push(observed(newYear));
  if (y >= 2022) days.push(observed(utc(y, 6, 19))); // Juneteenth
  set = new Set(days);
  cache.set(y, set);
  return set;
}

/** True when the NYSE trades on `day` (a UTC midnight, or any time on that UTC date). */
export function isTradingDay(day: number): boolean {
  const d = day - (((day % DAY) + DAY) % DAY);
  const wd = new Date(d).getUTCDay();
  if (wd === 0 || wd === 6) return false;
  return !nyseHolidays(new Date(d).getUTCFullYear()).has(d);
}

/** True when the NYSE closes at 13:00 New York time on trading day `day`: July 3, the day after Thanksgiving, Christmas Eve. */
export function isEarlyClose(day: number): boolean {
  const d = day - (((day % DAY) + DAY) % DAY);
  if (!isTradingDay(d)) return false;
  const date = new Date(d);
  const y = date.getUTCFullYear(), m = date.getUTCMonth() + 1, dd = date.getUTCDate();
  if (d === nthWeekday(y, 11, 4, 4) + DAY) return true;
  if (m === 12 && dd === 24) return true;
  // July 3 closes early when Independence Day falls on a weekday after it (not when July 4 is a Monday: July 3 is
  // then a Sunday).
  return m === 7 && dd === 3 && new Date(utc(y, 7, 4)).getUTCDay() !== 6;
}

/** Every trading day from `from` to `to` inclusive (UTC midnights). */
export function tradingDays(from: number, to: number): number[] {
  const out: number[] = [];
  for (let d = from - (((from % DAY) + DAY) % DAY); d <= to; d += DAY) if (isTradingDay(d)) out.push(d);
  return out;
}
