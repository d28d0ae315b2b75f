import { EXCHANGE_TZ } from "../schema/exchange.ts";
import type { FeedStatus } from "../schema/health.ts";
import type { Tick } from "../schema/tick.ts";

/** Where a feed delivers what it decodes. Called synchronously from the feed's socket handlers: keep it cheap. */
export interface FeedSink {
  tick(tick: Tick): void;
  /** A frame that could not be used; `reason` is a /metrics label. */
  reject(reason: string, detail: string): void;
}

/** A live source of ticks. */
export interface Feed {
  /** Connects and keeps connecting until {@link stop}. */
  start(): void;
  /** Closes every connection; no tick is delivered after it resolves. */
  stop(): Promise<void>;
  /** Replaces the tracked symbols; only the difference is (un)subscribed. */
  setSymbols(symbols: readonly string[]): void;
  status(): FeedStatus;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from `minMs`, capped at `maxMs`, with full jitter
 * (uniform between half and all of it) so a fleet of clients does not reconnect in step.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}

/** True during US equity trading, pre-market to after-hours: 04:00-20:00 New York time, Monday to Friday. */
export function usMarketActive(now: number): boolean {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: EXCHANGE_TZ,
    weekday: "short",
    hour: "numeric",
    hourCycle: "h23",
  }).formatToParts(new Date(now));
  const weekday = parts.find((p) => p.type === "weekday")?.value;
  const hour = Number(parts.find((p) => p.type === "hour")?.value);
  return weekday !== "Sat" && weekday !== "Sun" && hour >= 4 && hour < 20;
}

const nyParts = new Intl.DateTimeFormat("en-US", {
  timeZone: EXCHANGE_TZ,
  weekday: "short",
  hour: "numeric",
  minute: "numeric",
  hourCycle: "h23",
});
let sessionMinute = -1;
let sessionValue: "pre" | "regular" | "post" | "closed" = "closed";

/**
 * The US equity session a trade at `time` (epoch ms) falls in, for sources that do not say: pre 04:00-09:30,
 * regular 09:30-16:00, post 16:00-20:00 New York time on weekdays, otherwise closed. Exchange holidays are not
 * known here and count as their weekday. Cached per minute, so calling it for every tick is cheap.
 */
export function usSession(time: number): "pre" | "regular" | "post" | "closed" {
  const minute = Math.floor(time / 60_000);
  if (minute === sessionMinute) return sessionValue;
  const parts = nyParts.formatToParts(new Date(time));
  const get = (t: string) => parts.find((p) => p.type === t)?.value;
  const weekday = get("weekday");
  const m = Number(get("hour")) * 60 + Number(get("minute"));
  sessionValue = weekday === "Sat" || weekday === "Sun"
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
