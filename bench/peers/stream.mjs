// The synthetic stream every fan-out peer is fed: the same rate over the same symbols as Breadboard's synthetic feed
// in the benchmark (bursts every 50 ms), each tick carrying its server time. `emit(symbol, tick)` sends one tick.
export function startStream(rate, symbols, emit) {
  const prices = symbols.map(() => 100);
  let cursor = 0;
  let carry = 0;
  return setInterval(() => {
    carry += rate / 20;
    const n = Math.floor(carry);
    carry -= n;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const k = cursor++ % symbols.length;
      prices[k] *= 1 + (Math.random() - 0.5) * 0.001;
      emit(symbols[k], {
        symbol: symbols[k],
        price: Math.round(prices[k] * 100) / 100,
        time: now,
        change: 0,
        changePercent: 0,
        dayVolume: 0,
        marketHours: "regular",
        source: "synthetic",
      });
    }
  }, 50);
}
