import { FEED_DOWN_STATES } from "../schema/health.ts";
import type { Logger } from "../schema/log.ts";
import type { MetricsRegistry } from "../schema/metrics.ts";
import type { Feed } from "./feed.ts";

/**
 * Says in the log when the live feed stops delivering: the first failure at once (with the reason), then a summary
 * a minute, then when it streams again. Exports `breadboard_feed_up` and `breadboard_feed_down_seconds`.
 *
 * @returns a function that stops watching
 * @example
 * ```ts
 * const stopWatching = watchFeed(feed, "yahoo", log, metrics);
 * ```
 */
export function watchFeed(feed: Feed, name: string, log: Logger, metrics: MetricsRegistry): () => void {
  let downSince = 0;
  let loggedAt = 0;
  metrics
    .gauge("breadboard_feed_up", "1 while the feed streams (or the demo market rests while closed)", () => {
      const s = feed.status().state;
      return s === "live" || s === "closed" ? 1 : 0;
    })
    .gauge("breadboard_feed_down_seconds", "How long the feed has been failing to deliver (0 when it is not)", () => {
      const s = feed.status();
      return FEED_DOWN_STATES.has(s.state) && s.since ? (Date.now() - s.since) / 1000 : 0;
    });
  const check = () => {
    const s = feed.status();
    const now = Date.now();
    if (FEED_DOWN_STATES.has(s.state)) {
      const fields = { feed: name, state: s.state, error: s.error, since: s.since && new Date(s.since).toISOString() };
      if (downSince === 0) {
        downSince = s.since ?? now;
        loggedAt = now;
        log("warn", s.state === "unreachable" ? "live feed unreachable" : "live feed lost; reconnecting", fields);
      } else if (now - loggedAt >= 60_000) {
        loggedAt = now;
        log("warn", "live feed still down", { ...fields, downForS: Math.round((now - downSince) / 1000) });
      }
    } else if (downSince !== 0 && s.state === "live") {
      log("info", "live feed streaming again", { feed: name, downForS: Math.round((now - downSince) / 1000) });
      downSince = 0;
    }
  };
  const timer = setInterval(check, 1_000);
  return () => clearInterval(timer);
}
