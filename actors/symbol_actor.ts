import type { Alert } from "../schema/alert.ts";
import type { Candle } from "../schema/candle.ts";
import { type Rule, WINDOW_MS, type WindowName, WINDOWS } from "../schema/rule.ts";
import type { Tick } from "../schema/tick.ts";
import { closeCandle, type Ewma, foldCandle, newEwma, type OpenCandle, openCandle, updateEwma } from "./candle.ts";
import { evaluateRule, newRuleState, type RuleContext, ruleSignature, type RuleState } from "./rules.ts";
import { exchangeDay } from "../schema/exchange.ts";
import { RollingWindow, round4, type WindowSnapshot, type WindowStats } from "./window.ts";

/** Weight of the newest minute in the volume and return EWMAs (about a 30-minute memory). */
export const EWMA_ALPHA = 2 / 31;
/** A price more than this factor away from the last one is held back as a suspected bad print. */
export const JUMP_FACTOR = 10;
/** Suspect ticks that agree with each other (within 10 %) this many times in a row are taken as a real move. */
export const JUMP_CONFIRMATIONS = 3;

export type { Quote } from "../schema/quote.ts";
import type { Quote } from "../schema/quote.ts";

/** Why a tick was not applied to the actor's state (it is still stored). */
export type TickOutcome = "applied" | "out_of_order" | "duplicate" | "price_jump" | "jump_discarded";

/** Everything an actor keeps, as a plain value for Deno KV. */
export interface ActorSnapshot {
  v: 1;
  symbol: string;
  lastTime: number;
  /** Arrival position (`Tick.seq`) of the last tick the actor consumed; absent in snapshots older than positions. */
  lastSeq?: number;
  lastPrice: number;
  lastDayVolume: number;
  quote: Quote | null;
  c1: OpenCandle | null;
  /** The five-minute candle earlier versions kept and nothing read; ignored when restoring. */
  c5?: OpenCandle | null;
  lastClosed1m: Candle | null;
  prevMinuteClose: number;
  windows: Record<WindowName, WindowSnapshot>;
  volumeEwma: Ewma;
  returnEwma: Ewma;
  rules: Record<string, RuleState>;
  suspect: Tick[];
  /** Event time when saved (the last tick's time). */
  savedAt: number;
}

/** Where an actor puts what a tick or a clock check produced. */
export interface ActorOutput {
  alerts: Alert[];
  candles: { symbol: string; candle: Candle; source: string }[];
}

/**
 * One symbol's stream processor: last quote, 1- and 5-minute candles, rolling windows (1m, 5m, 15m, 60m), EWMAs of
 * minute returns and volumes, and the state of each alert rule.
 *
 * Ticks must come in through one mailbox (the actor system's), so they are applied in arrival order. A tick older
 * than the last applied one is out of order and skipped; the same tick twice is a duplicate and skipped; a price
 * more than {@link JUMP_FACTOR} times away from the last is held back until {@link JUMP_CONFIRMATIONS} ticks agree
 * on the new level (then all are applied in order) or a tick near the old level shows it was a bad print.
 *
 * Fields a source leaves out count as zero, the way the ticks table stores them, so replaying stored ticks after a
 * restart gives exactly the state live ticks gave.
 *
 * @example
 * ```ts
 * const actor = new SymbolActor("AAPL");
 * const out: ActorOutput = { alerts: [], candles: [] };
 * actor.onTick(tick, rules.forSymbol("AAPL"), out, Date.now());
 * actor.quote?.price; // the tick's price
 * const again = SymbolActor.restore(actor.snapshot());
 * ```
 */
export class SymbolActor {
  readonly symbol: string;
  #lastTime = 0;
  /** Arrival position of the last tick consumed, whatever its outcome; 0 before the first positioned tick. */
  #lastSeq = 0;
  #lastPrice = 0;
  #lastDayVolume = 0;
  #quote: Quote | null = null;
  #c1: OpenCandle | null = null;
  #lastClosed1m: Candle | null = null;
  #prevMinuteClose = 0;
  #windows: Record<WindowName, RollingWindow>;
  #volumeEwma: Ewma = newEwma();
  #returnEwma: Ewma = newEwma();
  #ruleStates = new Map<string, RuleState>();
  #suspect: Tick[] = [];
  /** Wall-clock time the last tick arrived, for closing candles when the stream goes quiet. */
  #lastArrival = 0;
  /** True when a candle closed since the last snapshot. */
  #dirty = false;
  /** KV versionstamp of the last snapshot read or written: the actor system's handle for its next save. */
  versionstamp: string | null = null;
  readonly #ctx: RuleContext;
  /** The rules the last tick was evaluated with: the ones a minute closing without a tick is judged by. */
  #rules: readonly Rule[] = [];

  constructor(symbol: string) {
    this.symbol = symbol;
    this.#windows = {
      "1m": new RollingWindow(WINDOW_MS["1m"]),
      "5m": new RollingWindow(WINDOW_MS["5m"]),
      "15m": new RollingWindow(WINDOW_MS["15m"]),
      "60m": new RollingWindow(WINDOW_MS["60m"]),
    };
    this.#ctx = {
      symbol,
      time: 0,
      price: 0,
      priceHint: 2,
      marketHours: "regular",
      dayChangePercent: undefined,
      windowHigh: (w) => this.#windows[w as WindowName]?.high ?? NaN,
      windowLow: (w) => this.#windows[w as WindowName]?.low ?? NaN,
      minuteVolume: 0,
      minuteReturn: NaN,
      volumeEwma: this.#volumeEwma,
      returnEwma: this.#returnEwma,
    };
  }

  /** The latest quote; null before the first applied tick. */
  get quote(): Quote | null {
    return this.#quote;
  }

  /** Exchange time of the last tick consumed. */
  get lastTime(): number {
    return this.#lastTime;
  }

  /** Arrival position of the last tick consumed, whatever its outcome; 0 before the first positioned tick. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Wall-clock time the last tick arrived. */
  get lastArrival(): number {
    return this.#lastArrival;
  }

  /** The one-minute candle still open, if any. */
  get c1(): Readonly<OpenCandle> | null {
    return this.#c1;
  }

  /** True when a candle closed since the last snapshot. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Applies one tick (see the class comment for what is skipped), evaluating `rules`. */
  onTick(t: Tick, rules: readonly Rule[], out: ActorOutput, arrival: number): TickOutcome {
    if (t.seq !== undefined) {
      // A position at or before the last one was consumed already (a replayed tick the live path also delivers).
      if (t.seq <= this.#lastSeq) return "duplicate";
      this.#lastSeq = t.seq;
    }
    if (t.time < this.#lastTime) return "out_of_order";
    if (t.time === this.#lastTime && t.price === this.#lastPrice && (t.dayVolume ?? 0) === this.#lastDayVolume) {
      return "duplicate";
    }
    this.#lastArrival = arrival;
    if (this.#lastPrice > 0) {
      const ratio = t.price / this.#lastPrice;
      if (ratio > JUMP_FACTOR || ratio < 1 / JUMP_FACTOR) {
        const first = this.#suspect[0];
        if (first && Math.abs(t.price / first.price - 1) > 0.1) this.#suspect = [];
        this.#suspect.push(t);
        if (this.#suspect.length < JUMP_CONFIRMATIONS) return "price_jump";
        const confirmed = this.#suspect;
        this.#suspect = [];
        for (const s of confirmed) this.#apply(s, rules, out);
        return "applied";
      }
      if (this.#suspect.length > 0) {
        this.#suspect = [];
        this.#apply(t, rules, out);
        return "jump_discarded";
      }
    }
    this.#apply(t, rules, out);
    return "applied";
  }

  #apply(t: Tick, rules: readonly Rule[], out: ActorOutput): void {
    const dayVolume = t.dayVolume ?? 0;
    const lastSize = t.lastSize ?? 0;
    const volume = dayVolume > 0 && this.#lastDayVolume > 0 && dayVolume >= this.#lastDayVolume
      ? dayVolume - this.#lastDayVolume
      : lastSize;
    if (dayVolume > 0) this.#lastDayVolume = dayVolume;
    this.#lastTime = t.time;
    this.#lastPrice = t.price;

    this.#closeBefore(t.time, out, t.source);
    if (this.#c1) foldCandle(this.#c1, t.price, volume);
    else this.#c1 = openCandle(t.time, 60_000, t.price, volume);
    for (const w of WINDOWS) this.#windows[w].add(t.time, t.price, volume);

    // A new exchange day starts the day's open, high and low over, and yesterday's last price becomes the previous
    // close when the source does not send one.
    const day = exchangeDay(t.time);
    const newDay = this.#quote !== null && (this.#quote.day ?? day) !== day;
    // `||`, not `??`: a field the source left out and a stored zero must read the same.
    const previousClose = t.previousClose ||
      (newDay ? this.#quote!.price : this.#quote?.previousClose) || 0;
    const change = t.change || (previousClose > 0 ? t.price - previousClose : 0);
    const changePercent = t.changePercent !== undefined && t.changePercent !== 0
      ? t.changePercent
      : previousClose > 0
      ? round4((t.price - previousClose) / previousClose * 100)
      : 0;
    const hint = t.priceHint !== undefined && t.priceHint > 0 ? t.priceHint : 2;
    // Updated in place: one quote object per actor, not one per tick. Readers copy what they keep.
    const q = this.#quote ??= {
      symbol: this.symbol,
      price: 0,
      time: 0,
      change: 0,
      changePercent: 0,
      dayVolume: 0,
      open: 0,
      dayHigh: 0,
      dayLow: Infinity,
      previousClose: 0,
      day,
      marketHours: t.marketHours,
      exchange: "",
      currency: "",
      source: t.source,
      priceHint: hint,
    };
    if (newDay) {
      q.open = 0;
      q.dayHigh = 0;
      q.dayLow = Infinity;
      q.day = day;
    }
    q.price = t.price;
    q.time = t.time;
    q.change = Math.round(change * 10 ** hint) / 10 ** hint;
    q.changePercent = changePercent;
    q.dayVolume = this.#lastDayVolume;
    q.open = t.openPrice || q.open || t.price;
    q.dayHigh = t.dayHigh || Math.max(q.dayHigh, t.price);
    q.dayLow = t.dayLow || Math.min(q.dayLow || Infinity, t.price);
    q.previousClose = previousClose;
    q.marketHours = t.marketHours;
    q.exchange = t.exchange || "";
    q.currency = t.currency || "";
    q.source = t.source;
    q.priceHint = hint;

    this.#rules = rules;
    if (rules.length === 0) return;
    const c = this.#ctx;
    c.time = t.time;
    c.price = t.price;
    c.priceHint = hint;
    c.marketHours = t.marketHours;
    c.dayChangePercent = changePercent;
    c.minuteVolume = this.#c1!.volume;
    c.minuteReturn = this.#prevMinuteClose > 0 ? Math.log(t.price / this.#prevMinuteClose) : NaN;
    this.#evaluate(rules, false, out);
  }

  /** Runs the rules of one trigger kind (`barClose`: the `bar_close` ones, else the others) on the context. */
  #evaluate(rules: readonly Rule[], barClose: boolean, out: ActorOutput): void {
    for (const rule of rules) {
      if ((rule.trigger === "bar_close") !== barClose) continue;
      let st = this.#ruleStates.get(rule.id);
      const sig = ruleSignature(rule);
      if (st && st.sig === undefined) st.sig = sig; // a state saved before signatures: keep it
      if (!st || st.sig !== sig) {
        st = newRuleState(rule);
        this.#ruleStates.set(rule.id, st);
      }
      const alert = evaluateRule(rule, st, this.#ctx);
      if (alert) out.alerts.push(alert);
    }
  }

  /** Evaluates the `bar_close` rules on minute bar `bar` as it closes, before it moves the EWMAs. */
  #onBarClose(bar: Candle, out: ActorOutput): void {
    const rules = this.#rules;
    if (!rules.some((r) => r.trigger === "bar_close")) return;
    const q = this.#quote;
    const c = this.#ctx;
    c.time = bar.time + 60_000;
    c.price = bar.close;
    c.priceHint = q?.priceHint ?? 2;
    c.marketHours = q?.marketHours ?? "regular";
    c.dayChangePercent = q && q.previousClose > 0
      ? round4((bar.close - q.previousClose) / q.previousClose * 100)
      : undefined;
    c.minuteVolume = bar.volume;
    c.minuteReturn = this.#prevMinuteClose > 0 ? Math.log(bar.close / this.#prevMinuteClose) : NaN;
    this.#evaluate(rules, true, out);
  }

  /** Closes the candles that end at or before `time`. */
  #closeBefore(time: number, out: ActorOutput, source: string): void {
    const c1 = this.#c1;
    if (c1 && time >= c1.time + 60_000) {
      const done = closeCandle(c1);
      out.candles.push({ symbol: this.symbol, candle: done, source });
      this.#onBarClose(done, out);
      updateEwma(this.#volumeEwma, done.volume, EWMA_ALPHA);
      if (this.#prevMinuteClose > 0) {
        updateEwma(this.#returnEwma, Math.log(done.close / this.#prevMinuteClose), EWMA_ALPHA);
      }
      this.#prevMinuteClose = done.close;
      this.#lastClosed1m = done;
      this.#c1 = null;
      this.#dirty = true;
    }
  }

  /**
   * Closes candles whose interval has ended although no later tick came: the symbol's event time is taken as its
   * last tick's time plus the wall-clock time since that tick arrived, less `graceMs` for late ticks.
   */
  closeDue(wallNow: number, graceMs: number, out: ActorOutput): void {
    if (!this.#c1 || this.#lastArrival === 0) return;
    const eventNow = this.#lastTime + (wallNow - this.#lastArrival) - graceMs;
    this.#closeBefore(eventNow, out, this.#quote?.source ?? "");
  }

  /** Rolling window figures as of the last tick. */
  windowStats(): Record<WindowName, WindowStats | null> {
    return {
      "1m": this.#windows["1m"].stats(),
      "5m": this.#windows["5m"].stats(),
      "15m": this.#windows["15m"].stats(),
      "60m": this.#windows["60m"].stats(),
    };
  }

  /** The last {@link snapshot} was not saved (the KV refused the write): the actor is {@link dirty} again. */
  unsaved(): void {
    this.#dirty = true;
  }

  /**
   * The actor as a plain value (and no longer {@link dirty}: the caller saves it); rule states of rules not in
   * `ruleIds` are left out.
   */
  snapshot(ruleIds?: ReadonlySet<string>): ActorSnapshot {
    this.#dirty = false;
    const rules: Record<string, RuleState> = {};
    for (const [id, st] of this.#ruleStates) if (!ruleIds || ruleIds.has(id)) rules[id] = { ...st };
    return {
      v: 1,
      symbol: this.symbol,
      lastTime: this.#lastTime,
      lastSeq: this.#lastSeq,
      lastPrice: this.#lastPrice,
      lastDayVolume: this.#lastDayVolume,
      quote: this.#quote && { ...this.#quote },
      c1: this.#c1 && { ...this.#c1 },
      lastClosed1m: this.#lastClosed1m,
      prevMinuteClose: this.#prevMinuteClose,
      windows: {
        "1m": this.#windows["1m"].snapshot(),
        "5m": this.#windows["5m"].snapshot(),
        "15m": this.#windows["15m"].snapshot(),
        "60m": this.#windows["60m"].snapshot(),
      },
      volumeEwma: { ...this.#volumeEwma },
      returnEwma: { ...this.#returnEwma },
      rules,
      suspect: [...this.#suspect],
      savedAt: this.#lastTime,
    };
  }

  /** An actor holding what `s` holds. */
  static restore(s: ActorSnapshot): SymbolActor {
    const a = new SymbolActor(s.symbol);
    a.#lastTime = s.lastTime;
    a.#lastSeq = s.lastSeq ?? 0;
    a.#lastPrice = s.lastPrice;
    a.#lastDayVolume = s.lastDayVolume;
    a.#quote = s.quote && { ...s.quote };
    a.#c1 = s.c1;
    a.#lastClosed1m = s.lastClosed1m;
    a.#prevMinuteClose = s.prevMinuteClose;
    for (const w of WINDOWS) a.#windows[w] = RollingWindow.restore(WINDOW_MS[w], s.windows[w]);
    a.#volumeEwma = { ...s.volumeEwma };
    a.#returnEwma = { ...s.returnEwma };
    for (const [id, st] of Object.entries(s.rules)) a.#ruleStates.set(id, { ...st });
    a.#suspect = [...s.suspect];
    return a;
  }
}
