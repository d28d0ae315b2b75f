/** Buckets per window: the window's edge is exact to a sixtieth of its length (1 s for 1m, 1 min for 60m). */
export const BUCKETS = 60;

export type { WindowStats } from "../schema/quote.ts";
import type { WindowStats } from "../schema/quote.ts";

/** A window's buckets as plain arrays, for snapshots. */
export interface WindowSnapshot {
  /** Bucket start times, oldest first. */
  t: number[];
  o: number[];
  h: number[];
  l: number[];
  c: number[];
  v: number[];
  n: number[];
}

/**
 * A time window over a price stream, held as {@link BUCKETS} buckets of OHLCV in a ring.
 *
 * `add` is O(1) amortized: the newest bucket is updated in place, buckets that leave the window are evicted from the
 * front, and the high and low come from monotonic queues of bucket indices (each index enters and leaves each queue
 * once), so reading them is O(1) too. Volume and tick counts are running sums.
 *
 * @example
 * ```ts
 * const w = new RollingWindow(300_000); // five minutes
 * w.add(tick.time, tick.price, tick.volume);
 * w.stats(); // { first, last, high, low, changePercent, volume, ticks }
 * ```
 */
export class RollingWindow {
  readonly spanMs: number;
  readonly bucketMs: number;
  // Ring of BUCKETS + 1 buckets (the window plus the partly expired oldest one), addressed by sequence number.
  readonly #cap = BUCKETS + 1;
  readonly #t = new Float64Array(this.#cap);
  readonly #o = new Float64Array(this.#cap);
  readonly #h = new Float64Array(this.#cap);
  readonly #l = new Float64Array(this.#cap);
  readonly #c = new Float64Array(this.#cap);
  readonly #v = new Float64Array(this.#cap);
  readonly #n = new Float64Array(this.#cap);
  /** Sequence numbers [#head, #tail) are live. */
  #head = 0;
  #tail = 0;
  // Monotonic queues of sequence numbers: highs decreasing, lows increasing, front is the extreme.
  #maxQ: number[] = [];
  #minQ: number[] = [];
  #volume = 0;
  #ticks = 0;

  constructor(spanMs: number) {
    this.spanMs = spanMs;
    this.bucketMs = spanMs / BUCKETS;
  }

  /** Folds a tick in. Times must not go backwards (the actor drops out-of-order ticks before they get here). */
  add(time: number, price: number, volume: number): void {
    const start = time - (time % this.bucketMs);
    const last = this.#tail - 1;
    let seq: number;
    if (this.#tail > this.#head && this.#t[last % this.#cap] === start) {
      seq = last;
      const i = seq % this.#cap;
      this.#c[i] = price;
      this.#v[i] = this.#v[i]! + volume;
      this.#n[i] = this.#n[i]! + 1;
      if (price > this.#h[i]!) {
        this.#h[i] = price;
        this.#pushMax(seq);
      }
      if (price < this.#l[i]!) {
        this.#l[i] = price;
        this.#pushMin(seq);
      }
    } else {
      seq = this.#tail++;
      if (this.#tail - this.#head > this.#cap) this.#dropFront();
      const i = seq % this.#cap;
      this.#t[i] = start;
      this.#o[i] = price;
      this.#h[i] = price;
      this.#l[i] = price;
      this.#c[i] = price;
      this.#v[i] = volume;
      this.#n[i] = 1;
      this.#pushMax(seq);
      this.#pushMin(seq);
    }
    this.#volume += volume;
    this.#ticks++;
    this.#evict(time);
  }

  #pushMax(seq: number): void {
    const q = this.#maxQ;
    const h = this.#h[seq % this.#cap]!;
    if (q.length > 0 && q[q.length - 1] === seq) q.pop();
    while (q.length > 0 && this.#h[q[q.length - 1]! % this.#cap]! <= h) q.pop();
    q.push(seq);
  }

  #pushMin(seq: number): void {
    const q = this.#minQ;
    const l = this.#l[seq % this.#cap]!;
    if (q.length > 0 && q[q.length - 1] === seq) q.pop();
    while (q.length > 0 && this.#l[q[q.length - 1]! % this.#cap]! >= l) q.pop();
    q.push(seq);
  }

  #dropFront(): void {
    const i = this.#head % this.#cap;
    this.#volume -= this.#v[i]!;
    this.#ticks -= this.#n[i]!;
    if (this.#maxQ[0] === this.#head) this.#maxQ.shift();
    if (this.#minQ[0] === this.#head) this.#minQ.shift();
    this.#head++;
  }

  /** Drops buckets wholly outside (now - span, now]. */
  #evict(now: number): void {
    const edge = now - this.spanMs;
    while (this.#tail > this.#head && this.#t[this.#head % this.#cap]! + this.bucketMs <= edge) this.#dropFront();
  }

  /** The window as of `now` (default: its last tick); null when no tick falls inside it. */
  stats(now?: number): WindowStats | null {
    if (now !== undefined) this.#evict(now);
    if (this.#tail === this.#head) return null;
    const first = this.#o[this.#head % this.#cap]!;
    const last = this.#c[(this.#tail - 1) % this.#cap]!;
    return {
      first,
      last,
      high: this.#h[this.#maxQ[0]! % this.#cap]!,
      low: this.#l[this.#minQ[0]! % this.#cap]!,
      changePercent: round4((last - first) / first * 100),
      volume: this.#volume,
      ticks: this.#ticks,
    };
  }

  /** Highest price in the window (NaN when empty), without building a stats object. */
  get high(): number {
    return this.#tail === this.#head ? NaN : this.#h[this.#maxQ[0]! % this.#cap]!;
  }

  /** Lowest price in the window (NaN when empty). */
  get low(): number {
    return this.#tail === this.#head ? NaN : this.#l[this.#minQ[0]! % this.#cap]!;
  }

  snapshot(): WindowSnapshot {
    const s: WindowSnapshot = { t: [], o: [], h: [], l: [], c: [], v: [], n: [] };
    for (let seq = this.#head; seq < this.#tail; seq++) {
      const i = seq % this.#cap;
      s.t.push(this.#t[i]!);
      s.o.push(this.#o[i]!);
      s.h.push(this.#h[i]!);
      s.l.push(this.#l[i]!);
      s.c.push(this.#c[i]!);
      s.v.push(this.#v[i]!);
      s.n.push(this.#n[i]!);
    }
    return s;
  }

  /** A window with the buckets of `s`. */
  static restore(spanMs: number, s: WindowSnapshot): RollingWindow {
    const w = new RollingWindow(spanMs);
    const n = Math.min(s.t.length, w.#cap);
    for (let k = s.t.length - n; k < s.t.length; k++) {
      const seq = w.#tail++;
      const i = seq % w.#cap;
      w.#t[i] = s.t[k]!;
      w.#o[i] = s.o[k]!;
      w.#h[i] = s.h[k]!;
      w.#l[i] = s.l[k]!;
      w.#c[i] = s.c[k]!;
      w.#v[i] = s.v[k]!;
      w.#n[i] = s.n[k]!;
      w.#volume += s.v[k]!;
      w.#ticks += s.n[k]!;
      w.#pushMax(seq);
      w.#pushMin(seq);
    }
    return w;
  }
}

/** Rounds to four decimals (percentages). */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
