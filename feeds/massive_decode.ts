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
});
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
}

const MIN_TIME = 946_684_800_000;

/**
 * A decoder for the stocks cluster's trades (`T`) and per-second aggregates (`A`; per-minute `AM` too).
 *
 * Trades become ticks with the trade size as `lastSize`. Aggregates become ticks at the aggregate's close with the
 * day's accumulated volume and official open. The decoder keeps each symbol's running day volume (the last
 * aggregate's `av` plus trade sizes since), so every tick after the first aggregate carries `dayVolume` and a
 * consumer that takes volume from day-volume deltas counts each share once.
 */
export function createMassiveDecoder(options: MassiveDecoderOptions = {}): MassiveDecoder {
  const source = options.source ?? "massive";
  const now = options.now ?? Date.now;
  const maxFuture = options.maxFutureMs ?? 5 * 60_000;
  const dayVolume = new Map<string, { day: number; volume: number }>();

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
      return { kind: "tick", tick };
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
    return { symbol, price, time, source, quoteType: "equity", marketHours: usSession(time), currency: "USD" };
  }

  return {
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
