import { exchangeDay, usSession } from "../schema/exchange.ts";
import { z } from "zod";
import { SYMBOL_PATTERN } from "../schema/symbol.ts";
import type { Tick, TickSource } from "../schema/tick.ts";

/** Why a Massive event was not turned into a tick; each is a /metrics label. */
export const MASSIVE_REJECT_REASONS = ["not_json", "bad_event", "bad_symbol", "bad_price", "bad_time"] as const;
/** Why a Massive event was not turned into a tick. */
export type MassiveRejectReason = (typeof MASSIVE_REJECT_REASONS)[number];

/** One event of a Massive frame, decoded. */
export type MassiveResult =
  | { kind: "tick"; tick: Tick }
  | { kind: "status"; status: string; message: string }
  | { kind: "skip"; what: string }
  | { kind: "reject"; reason: MassiveRejectReason; detail: string };

// Unknown fields are kept out of the tick but never make an event invalid: the upstream adds fields over time.
const statusEvent = z.looseObject({ ev: z.literal("status"), status: z.string(), message: z.string().default("") });
const tradeEvent = z.looseObject({
  ev: z.literal("T"),
  sym: z.string(),
  p: z.number(),
  s: z.number().optional(),
  t: z.number(),
  x: z.number().optional(),
  c: z.array(z.number()).optional(),
});
const quoteEvent = z.looseObject({
  ev: z.literal("Q"),
  sym: z.string(),
  bp: z.number(),
  bs: z.number().optional(),
  ap: z.number(),
  as: z.number().optional(),
  t: z.number(),
});

/**
 * Trade conditions (Massive's condition ids for US stocks) under which a trade does not set the consolidated last
 * price: average-price, cash, next-day and seller trades, Form T (extended hours) and its out-of-sequence variant,
 * market center official open/close reports, price-variation, prior-reference-price and out-of-sequence reports, odd
 * lots, corrected closes and contingent trades. Their shares still count toward the day's volume.
 */
export const NOT_LAST_PRICE_CONDITIONS: ReadonlySet<number> = new Set([
  2,
  7,
  12,
  13,
  15,
  16,
  20,
  21,
  22,
  29,
  32,
  33,
  37,
  38,
  52,
  53,
]);

/** Massive's exchange ids for US stocks, as ISO 10383 market identifier codes. */
export const MASSIVE_EXCHANGES: Readonly<Record<number, string>> = {
  1: "XASE", // NYSE American
  2: "XBOS", // Nasdaq BX
  3: "XCIS", // NYSE National
  4: "FINY", // FINRA NYSE trade reporting facility
  7: "EDGA", // Cboe EDGA
  8: "EDGX", // Cboe EDGX
  9: "XCHI", // NYSE Chicago
  10: "XNYS", // New York Stock Exchange
  11: "ARCX", // NYSE Arca
  12: "XNAS", // Nasdaq
  15: "IEXG", // IEX
  17: "XPHL", // Nasdaq PSX
  18: "BATY", // Cboe BYX
  19: "BATS", // Cboe BZX
};
const aggregateEvent = z.looseObject({
  ev: z.enum(["A", "AM"]),
  sym: z.string(),
  o: z.number(),
  h: z.number(),
  l: z.number(),
  c: z.number(),
  v: z.number().optional(),
  av: z.number().optional(),
  op: z.number().optional(),
  s: z.number(),
  e: z.number(),
});

/** Options of {@link createMassiveDecoder}. */
export interface MassiveDecoderOptions {
  /** Source recorded on every tick (default "massive"; the replay feed passes "replay"). */
  source?: TickSource;
  now?: () => number;
  /** How far ahead of the clock an event time may be (default 5 minutes). */
  maxFutureMs?: number;
}

/** Decodes Massive stocks WebSocket frames (JSON arrays of events) into ticks and status messages. */
export interface MassiveDecoder {
  /** Decodes one frame; one result per event. A bad event never spoils the others in its frame. Never throws. */
  decode(frame: string): MassiveResult[];
  /**
   * The previous session's close of `symbol` for the exchange day `day` (see schema/exchange.ts): ticks of that day
   * carry it, so the day's change is measured from it. Massive's stream has none of its own.
   */
  setPreviousClose(symbol: string, day: number, close: number): void;
}

const MIN_TIME = 946_684_800_000;

/**
 * A decoder for the stocks cluster's trades (`T`) and per-second aggregates (`A`; per-minute `AM` too).
 *
 * Trades become ticks with the trade size as `lastSize`. Aggregates become ticks at the aggregate's close with the
 * day's accumulated volume and official open. The decoder keeps each symbol's running day volume (the last
 * aggregate's `av` plus trade sizes since), so every tick after the first aggregate carries `dayVolume` and a
 * consumer that takes volume from day-volume deltas counts each share once.
 *
 * @example
 * ```ts
 * const decoder = createMassiveDecoder();
 * decoder.setPreviousClose("AAPL", exchangeDay(Date.now()), 200);
 * for (const r of decoder.decode(frame)) if (r.kind === "tick") sink.tick(r.tick);
 * ```
 */
export function createMassiveDecoder(options: MassiveDecoderOptions = {}): MassiveDecoder {
  const source = options.source ?? "massive";
  const now = options.now ?? Date.now;
  const maxFuture = options.maxFutureMs ?? 5 * 60_000;
  const dayVolume = new Map<string, { day: number; volume: number }>();
  const previousClose = new Map<string, { day: number; close: number }>();
  const quotes = new Map<string, { bid: number; bidSize?: number; ask: number; askSize?: number }>();

  function checkCommon(sym: string, price: number, time: number): MassiveResult | string {
    const symbol = sym.trim().toUpperCase();
    if (!SYMBOL_PATTERN.test(symbol)) return reject("bad_symbol", sym);
    if (!Number.isFinite(price) || price <= 0) return reject("bad_price", `${symbol} ${price}`);
    if (!Number.isSafeInteger(time) || time < MIN_TIME || time > now() + maxFuture) {
      return reject("bad_time", `${symbol} ${time}`);
    }
    return symbol;
  }

  function one(ev: unknown): MassiveResult {
    const kind = (ev as { ev?: unknown } | null)?.ev;
    if (kind === "status") {
      const st = statusEvent.safeParse(ev);
      return st.success
        ? { kind: "status", status: st.data.status, message: st.data.message }
        : reject("bad_event", JSON.stringify(ev));
    }
    if (kind === "T") {
      const tr = tradeEvent.safeParse(ev);
      if (!tr.success) return reject("bad_event", JSON.stringify(ev));
      const symbol = checkCommon(tr.data.sym, tr.data.p, tr.data.t);
      if (typeof symbol !== "string") return symbol;
      const tick = base(symbol, tr.data.p, tr.data.t);
      const size = tr.data.s;
      if (size !== undefined && Number.isSafeInteger(size) && size >= 0) {
        tick.lastSize = size;
        const dv = dayVolume.get(symbol);
        if (dv && dv.day === exchangeDay(tick.time)) {
          dv.volume += size;
          tick.dayVolume = dv.volume;
        }
      }
      const excluded = tr.data.c?.find((c) => NOT_LAST_PRICE_CONDITIONS.has(c));
      if (excluded !== undefined) return { kind: "skip", what: `${symbol} trade with condition ${excluded}` };
      const exchange = tr.data.x === undefined ? undefined : MASSIVE_EXCHANGES[tr.data.x];
      if (exchange) tick.exchange = exchange;
      const q = quotes.get(symbol);
      if (q) {
        if (q.bid > 0) tick.bid = q.bid;
        if (q.ask > 0) tick.ask = q.ask;
        if (q.bidSize !== undefined) tick.bidSize = q.bidSize;
        if (q.askSize !== undefined) tick.askSize = q.askSize;
      }
      return { kind: "tick", tick };
    }
    if (kind === "Q") {
      const qu = quoteEvent.safeParse(ev);
      if (!qu.success) return reject("bad_event", JSON.stringify(ev));
      const q = qu.data;
      const symbol = q.sym.trim().toUpperCase();
      if (!SYMBOL_PATTERN.test(symbol)) return reject("bad_symbol", q.sym);
      // A one-sided quote (0 on a side) keeps the other side's last value.
      const last = quotes.get(symbol);
      const bid = q.bp > 0 && Number.isFinite(q.bp) ? q.bp : last?.bid ?? 0;
      const ask = q.ap > 0 && Number.isFinite(q.ap) ? q.ap : last?.ask ?? 0;
      if (bid <= 0 && ask <= 0) return reject("bad_price", `${symbol} bid=${q.bp} ask=${q.ap}`);
      quotes.set(symbol, {
        bid,
        ask,
        ...(sizeOf(q.bs) !== undefined ? { bidSize: sizeOf(q.bs) } : {}),
        ...(sizeOf(q.as) !== undefined ? { askSize: sizeOf(q.as) } : {}),
      });
      return { kind: "skip", what: `${symbol} quote` };
    }
    if (kind === "A" || kind === "AM") {
      const ag = aggregateEvent.safeParse(ev);
      if (!ag.success) return reject("bad_event", JSON.stringify(ev));
      const a = ag.data;
      const symbol = checkCommon(a.sym, a.c, a.e);
      if (typeof symbol !== "string") return symbol;
      if (![a.o, a.h, a.l].every((p) => Number.isFinite(p) && p > 0) || a.l > a.h) {
        return reject("bad_price", `${symbol} o=${a.o} h=${a.h} l=${a.l}`);
      }
      const tick = base(symbol, a.c, a.e);
      if (a.av !== undefined && Number.isSafeInteger(a.av) && a.av >= 0) {
        const day = exchangeDay(tick.time);
        const dv = dayVolume.get(symbol);
        const volume = dv && dv.day === day ? Math.max(dv.volume, a.av) : a.av;
        dayVolume.set(symbol, { day, volume });
        tick.dayVolume = volume;
      }
      if (a.op !== undefined && Number.isFinite(a.op) && a.op > 0) tick.openPrice = a.op;
      return { kind: "tick", tick };
    }
    if (typeof kind === "string") return { kind: "skip", what: `event ${kind}` };
    return reject("bad_event", JSON.stringify(ev));
  }

  function base(symbol: string, price: number, time: number): Tick {
    const tick: Tick = {
      symbol,
      price,
      time,
      source,
      quoteType: "equity",
      marketHours: usSession(time),
      currency: "USD",
    };
    const pc = previousClose.get(symbol);
    if (pc && pc.day === exchangeDay(time)) tick.previousClose = pc.close;
    return tick;
  }

  return {
    setPreviousClose(symbol, day, close) {
      if (Number.isFinite(close) && close > 0) previousClose.set(symbol, { day, close });
    },
    decode(frame) {
      let json: unknown;
      try {
        json = JSON.parse(frame);
      } catch {
        return [reject("not_json", frame)];
      }
      const events = Array.isArray(json) ? json : [json];
      return events.map((ev) => {
        try {
          return one(ev);
        } catch (err) {
          return reject("bad_event", (err as Error).message);
        }
      });
    },
  };
}

function reject(reason: MassiveRejectReason, detail: string): MassiveResult {
  return { kind: "reject", reason, detail: detail.length > 120 ? detail.slice(0, 120) + "…" : detail };
}

function sizeOf(n: number | undefined): number | undefined {
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
