/** The one backoff every retry loop uses: feed reconnects, and re-reading the rule and watchlist books. */

/**
 * Delay before retry `attempt` (0-based): exponential from `minMs`, capped at `maxMs`, with jitter (uniform between
 * half and all of it) so a fleet of clients does not retry in step.
 *
 * @example
 * ```ts
 * setTimeout(connect, backoffDelay(attempt++, 500, 15_000));
 * ```
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}
