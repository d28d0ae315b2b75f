/** Feed names: the one list the configuration, the tick's source and the recorder derive from. */

/** Live upstream feeds, each one module in feeds/ registered in feeds/open.ts. */
export const LIVE_FEEDS = ["yahoo", "massive"] as const;
/** A live upstream feed. */
export type LiveFeedName = (typeof LIVE_FEEDS)[number];

/** Every FEED value: the live feeds, the demo market and a recorded file played back. */
export const FEEDS = [...LIVE_FEEDS, "synthetic", "replay"] as const;
/** A FEED value. */
export type FeedName = (typeof FEEDS)[number];
