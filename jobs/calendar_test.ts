import assert from "node:assert/strict";
import { isEarlyClose, isTradingDay, nyseHolidays, tradingDays } from "./calendar.ts";

const day = (s: string) => Date.parse(`${s}T00:00:00Z`);
const iso = (d: number) => new Date(d).toISOString().slice(0, 10);

Deno.test("NYSE holidays of 2024 and 2025 match the exchange's published calendar", () => {
  assert.deepEqual([...nyseHolidays(2024)].sort().map(iso), [
    "2024-01-01",
    "2024-01-15",
    "2024-02-19",
    "2024-03-29",
    "2024-05-27",
    "2024-06-19",
    "2024-07-04",
    "2024-09-02",
    "2024-11-28",
    "2024-12-25",
  ]);
  assert.deepEqual([...nyseHolidays(2025)].sort().map(iso), [
    "2025-01-01",
    "2025-01-20",
    "2025-02-17",
    "2025-04-18",
    "2025-05-26",
    "2025-06-19",
    "2025-07-04",
    "2025-09-01",
    "2025-11-27",
    "2025-12-25",
  ]);
});

Deno.test("weekend holidays move to the nearest weekday, except New Year's Day on a Saturday", () => {
  assert.equal(isTradingDay(day("2021-12-31")), true, "New Year 2022 is a Saturday: Dec 31 trades");
  assert.equal(isTradingDay(day("2022-06-20")), false, "Juneteenth 2022 (Sunday) observed Monday");
  assert.equal(isTradingDay(day("2021-07-05")), false, "July 4 2021 (Sunday) observed Monday");
  assert.equal(isTradingDay(day("2026-07-03")), false, "July 4 2026 (Saturday) observed Friday");
  assert.equal(isTradingDay(day("2021-06-18")), true, "no Juneteenth before 2022");
  assert.equal(isTradingDay(day("2024-03-30")), false, "Saturday");
});

Deno.test("early closes and the trading days of a range", () => {
  assert.equal(isEarlyClose(day("2024-11-29")), true);
  assert.equal(isEarlyClose(day("2024-12-24")), true);
  assert.equal(isEarlyClose(day("2024-07-03")), true);
  assert.equal(isEarlyClose(day("2024-07-05")), false);
  // 2024 had 252 trading days.
  assert.equal(tradingDays(day("2024-01-01"), day("2024-12-31")).length, 252);
});
