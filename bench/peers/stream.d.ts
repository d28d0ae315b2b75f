/** Emits `rate` ticks a second over `symbols` in bursts every 50 ms; returns the interval's id. */
export function startStream(
  rate: number,
  symbols: string[],
  emit: (symbol: string, tick: Record<string, unknown>) => void,
): number;
