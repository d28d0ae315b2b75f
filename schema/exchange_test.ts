import assert from "node:assert/strict";
import { exchangeClock, exchangeDay, exchangeDayRange, exchangeOpen, usSession } from "./exchange.ts";

const H = 3_600_000;

Deno.test("exchangeClock reads New York's date, minute and weekday, across both clock changes", () => {
  // 2026-11-20 (Friday) 22:30 ET is 2026-11-21 03:30 UTC: still Friday in New York.
  const late = Date.UTC(2026, 10, 21, 3, 30);
  assert.deepEqual(exchangeClock(late), { day: Date.UTC(2026, 10, 20), minute: 22 * 60 + 30, weekday: 5 });
  // Summer: 09:30 EDT is 13:30 UTC.
  assert.deepEqual(exchangeClock(Date.UTC(2026, 6, 15, 13, 30)), {
    day: Date.UTC(2026, 6, 15),
    minute: 570,
    weekday: 3,
  });
  assert.equal(exchangeDay(Date.UTC(2026, 6, 16, 3, 59)), Date.UTC(2026, 6, 15));
  assert.equal(exchangeDay(Date.UTC(2026, 6, 16, 4, 0)), Date.UTC(2026, 6, 16));
});

Deno.test("exchangeDayRange spans midnight to midnight: 24 h, 23 h in March, 25 h in November", () => {
  const plain = exchangeDayRange(Date.UTC(2026, 10, 20));
  assert.deepEqual(plain, { start: Date.UTC(2026, 10, 20, 5), end: Date.UTC(2026, 10, 21, 5) });
  const spring = exchangeDayRange(Date.UTC(2026, 2, 8));
  assert.equal(spring.start, Date.UTC(2026, 2, 8, 5));
  assert.equal(spring.end - spring.start, 23 * H);
  const fall = exchangeDayRange(Date.UTC(2026, 10, 1));
  assert.equal(fall.start, Date.UTC(2026, 10, 1, 4));
  assert.equal(fall.end - fall.start, 25 * H);
  assert.equal(exchangeOpen(Date.UTC(2026, 6, 15)), Date.UTC(2026, 6, 15, 13, 30));
  assert.equal(exchangeOpen(Date.UTC(2026, 0, 15)), Date.UTC(2026, 0, 15, 14, 30));
});

Deno.test("usSession names the New York session, weekends closed", () => {
  const ny = (d: number, h: number, m: number) => Date.UTC(2026, 10, d, h + 5, m);
  assert.equal(usSession(ny(18, 3, 59)), "closed");
  assert.equal(usSession(ny(18, 4, 0)), "pre");
  assert.equal(usSession(ny(18, 9, 29)), "pre");
  assert.equal(usSession(ny(18, 9, 30)), "regular");
  assert.equal(usSession(ny(18, 15, 59)), "regular");
  assert.equal(usSession(ny(18, 16, 0)), "post");
  assert.equal(usSession(ny(18, 20, 0)), "closed");
  assert.equal(usSession(ny(21, 12, 0)), "closed");
});
