import assert from "node:assert/strict";
import { fmtMinute, fmtTime } from "../islands/lib/format.ts";
import { chartTimeOptions, setTimeZoneSetting, timeZoneSetting } from "../islands/lib/tz.ts";

Deno.test("times show in the exchange's zone by default, labelled ET, across daylight saving", () => {
  localStorage.removeItem("bb-tz");
  assert.equal(timeZoneSetting(), "exchange");
  assert.equal(fmtTime(Date.UTC(2026, 10, 20, 14, 30, 5)), "Nov 20, 09:30:05 ET"); // EST, UTC-5
  assert.equal(fmtTime(Date.UTC(2026, 6, 20, 13, 30, 5)), "Jul 20, 09:30:05 ET"); // EDT, UTC-4
  assert.equal(fmtMinute(Date.UTC(2026, 10, 20, 14, 30)), "2026-11-20 09:30 ET");
  const intraday = chartTimeOptions(() => false);
  assert.equal(intraday.timeScale.tickMarkFormatter(Date.UTC(2026, 10, 20, 14, 30) / 1000, 3), "09:30");
  assert.equal(intraday.localization.timeFormatter(Date.UTC(2026, 10, 20, 14, 30) / 1000), "Nov 20, 09:30 ET");
  // Daily candles are dates stamped at midnight UTC: never shifted into the previous day.
  const daily = chartTimeOptions(() => true);
  assert.equal(daily.localization.timeFormatter(Date.UTC(2026, 10, 20) / 1000), "Nov 20, 2026");
  assert.equal(daily.timeScale.tickMarkFormatter(Date.UTC(2026, 10, 20) / 1000, 2), "20");
});

Deno.test("the local setting switches every formatter at once, and says which zone", () => {
  let told = 0;
  const listener = () => told++;
  globalThis.addEventListener("tzchange", listener);
  try {
    setTimeZoneSetting("local");
    assert.equal(told, 1);
    const t = Date.UTC(2026, 10, 20, 14, 30, 5);
    // The machine's own wall clock at t, from Date's local getters rather than the formatter under test.
    const d = new Date(t);
    const two = (n: number) => String(n).padStart(2, "0");
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const local = `${months[d.getMonth()]} ${d.getDate()}, ${two(d.getHours())}:${two(d.getMinutes())}:05`;
    assert.ok(fmtTime(t).startsWith(`${local} `), `${fmtTime(t)} vs ${local}`);
    assert.doesNotMatch(fmtTime(t), / ET$/);
  } finally {
    setTimeZoneSetting("exchange");
    globalThis.removeEventListener("tzchange", listener);
    localStorage.removeItem("bb-tz");
  }
});
