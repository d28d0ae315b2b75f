import type { Quote } from "../actors/symbol_actor.ts";
import type { WindowStats } from "../actors/window.ts";
import type { Candle } from "../schema/candle.ts";
import type { Broker, Subjects } from "./broker.ts";

/** A symbol's live state as its owner answers a latest-value request. */
export interface LatestState {
  quote: Quote;
  windows: Record<string, WindowStats | null>;
  /** The one-minute candle still open, if any. */
  openCandle: Candle | null;
  /** Epoch ms at which the owner read it. */
  asOf: number;
}

/** How long a latest-value request waits for the owner (a missing owner answers "no responders" at once). */
export const LATEST_TIMEOUT_MS = 500;

/**
 * Asks the owner of `symbol` for its live state.
 *
 * @returns the state, or undefined when no instance owns the symbol, it has no quote yet, or the bus is down.
 * @example
 * ```ts
 * const s = await requestLatest(broker, subjects("live"), "AAPL");
 * ```
 */
export async function requestLatest(
  broker: Broker,
  subjects: Subjects,
  symbol: string,
): Promise<LatestState | undefined> {
  const json = await broker.request(subjects.latest(symbol), "", LATEST_TIMEOUT_MS);
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as LatestState;
  } catch {
    return undefined;
  }
}
