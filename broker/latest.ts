import type { Broker, Subjects } from "./broker.ts";

export type { LatestState } from "../schema/quote.ts";
import type { LatestState } from "../schema/quote.ts";

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
