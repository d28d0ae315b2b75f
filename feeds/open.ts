/**
 * The feed factory: which module serves each FEED value. A live feed is one module exporting a
 * {@link LiveFeedModule}; adding one is its file, its name in schema/feeds.ts and one line in {@link LIVE_FEED_MODULES}.
 * The replay feed and the recorder find the live feeds' decoders here.
 */
import { type Config, ConfigError } from "../schema/env.ts";
import type { LiveFeedName } from "../schema/feeds.ts";
import type { Logger } from "../schema/log.ts";
import type { Tick } from "../schema/tick.ts";
import type { Feed, FeedSink } from "./feed.ts";
import { massiveFeed } from "./massive.ts";
import type { Recorder } from "./recorder.ts";
import { ReplayFeed } from "./replay.ts";
import { type DemoStart, SyntheticFeed } from "./synthetic.ts";
import { yahooFeed } from "./yahoo.ts";

/** One decoded result of a frame, as every live feed's decoder reports it. */
export type Decoded =
  | { kind: "tick"; tick: Tick }
  | { kind: "reject"; reason: string; detail: string }
  | { kind: "status" | "skip" };

/** What a live feed module is opened with. */
export interface LiveFeedDeps {
  sink: FeedSink;
  /** Raw frames as received (the recorder). */
  onFrame?: (frame: string) => void;
  /** A symbol's previous close for an exchange day, for feeds whose stream carries none. */
  previousClose?: (symbol: string, day: number) => Promise<number | undefined>;
}

/** A live upstream feed. */
export interface LiveFeedModule {
  /** The feed for `config`, delivering to `deps.sink`. */
  open(config: Config, deps: LiveFeedDeps): Feed | Promise<Feed>;
  /** A decoder of this feed's recorded frames for the replay feed (ticks marked `source: "replay"`). */
  replayDecoder(): ((frame: string) => Iterable<Decoded>) | Promise<(frame: string) => Iterable<Decoded>>;
}

/** The live feeds by name. */
export const LIVE_FEED_MODULES: Readonly<Record<LiveFeedName, LiveFeedModule>> = {
  yahoo: yahooFeed,
  massive: massiveFeed,
};

/** What {@link openFeed} needs besides the configuration. */
export interface FeedDeps extends Omit<LiveFeedDeps, "onFrame"> {
  log: Logger;
  /** Records the live feed's frames (RECORD_FILE). */
  recorder?: Recorder;
  /** The demo market's starting point per symbol. */
  demoStart?: (symbol: string) => DemoStart | undefined;
}

/**
 * The feed the configuration names.
 *
 * @example
 * ```ts
 * const feed = await openFeed(config, { sink, log });
 * feed.setSymbols(["AAPL"]);
 * feed.start();
 * ```
 */
export async function openFeed(config: Config, d: FeedDeps): Promise<Feed> {
  switch (config.feed) {
    case "synthetic":
      return new SyntheticFeed({
        sink: d.sink,
        ticksPerSecond: config.syntheticRate,
        alwaysOpen: config.syntheticAlwaysOpen,
        ...(d.demoStart ? { start: d.demoStart } : {}),
      });
    case "replay": {
      const file = config.replay.file!;
      const info = await Deno.stat(file).catch(() => undefined);
      if (!info?.isFile) throw new ConfigError(`REPLAY_FILE ${file} is not a readable file`);
      const decoders: Record<string, (frame: string) => Iterable<Decoded>> = {};
      for (const [name, m] of Object.entries(LIVE_FEED_MODULES)) decoders[name] = await m.replayDecoder();
      return new ReplayFeed({
        path: file,
        speed: config.replay.speed,
        decoders,
        sink: d.sink,
        onEnd: (frames) => d.log("info", "replay finished", { frames }),
      });
    }
    default: {
      const name = config.feed;
      return await LIVE_FEED_MODULES[name].open(config, {
        sink: d.sink,
        ...(d.recorder ? { onFrame: d.recorder.hook(name) } : {}),
        ...(d.previousClose ? { previousClose: d.previousClose } : {}),
      });
    }
  }
}
