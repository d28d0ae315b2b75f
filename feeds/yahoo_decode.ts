import protobuf from "protobufjs";
import { z } from "zod";
import { SYMBOL_PATTERN } from "../schema/symbol.ts";
import type { MarketHours, QuoteType, Tick, TickSource } from "../schema/tick.ts";

// 64-bit fields (time, volumes) as plain numbers: every value Yahoo sends is far below 2^53.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

/** Why an upstream frame was not turned into a tick; each is a /metrics label. */
export const REJECT_REASONS = [
  "not_json",
  "bad_envelope",
  "bad_base64",
  "bad_protobuf",
  "bad_symbol",
  "bad_price",
  "bad_time",
] as const;
/** Why an upstream frame was not turned into a tick. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Outcome of decoding one frame: a tick, a frame to skip quietly (heartbeats, other message types), or a reject. */
export type DecodeResult =
  | { kind: "tick"; tick: Tick }
  | { kind: "skip"; what: string }
  | { kind: "reject"; reason: RejectReason; detail: string };

const QUOTE_TYPES: Record<number, QuoteType> = {
  5: "altsymbol",
  8: "equity",
  9: "index",
  11: "mutualfund",
  12: "moneymarket",
  13: "option",
  14: "currency",
  15: "warrant",
  17: "bond",
  18: "future",
  20: "etf",
  23: "commodity",
  28: "ecnquote",
  41: "crypto",
  42: "indicator",
  1000: "industry",
};
const HEARTBEAT = 7;

const MARKET_HOURS: Record<number, MarketHours> = {
  0: "pre",
  1: "regular",
  2: "post",
  3: "extended",
  4: "overnight",
};

const ENVELOPE_HEAD = '{"type":"pricing","message":"';
const HEAD_LEN = ENVELOPE_HEAD.length;
const envelopeSchema = z.object({ type: z.string(), message: z.string() });

const STRING_MAX: Record<string, number> = { currency: 16, exchange: 32, shortName: 200 };
const STRING_FIELDS = Object.keys(STRING_MAX);
const MONEY_FIELDS = ["change", "dayHigh", "dayLow", "openPrice", "previousClose", "bid", "ask"];
const COUNT_FIELDS = ["dayVolume", "bidSize", "askSize", "lastSize"];

/** Earliest tick time accepted (2000-01-01): anything older is a corrupt timestamp, not history. */
const MIN_TIME = 946_684_800_000;

/** Options of {@link createYahooDecoder}. */
export interface DecoderOptions {
  /** Source recorded on every tick (default "yahoo"; the replay feed passes "replay"). */
  source?: TickSource;
  /** Clock for the future-timestamp check (default Date.now). */
  now?: () => number;
  /** How far ahead of the clock a tick time may be (default 5 minutes); later ones are rejected as bad_time. */
  maxFutureMs?: number;
}

/** Decodes Yahoo streamer frames into ticks. */
export interface YahooDecoder {
  /** Decodes one WebSocket frame (JSON envelope or bare base64). Never throws. */
  decode(frame: string): DecodeResult;
  /** Decodes the protobuf bytes alone into the raw message (for benchmarks and the fake server's round trip). */
  decodeRaw(bytes: Uint8Array): Record<string, unknown>;
  /** Encodes a PricingData message as base64 (what the upstream sends; used by the test server and recorder tools). */
  encode(fields: Record<string, unknown>): string;
}

/**
 * Loads schema/pricing.proto and returns a decoder.
 *
 * @example
 * ```ts
 * const decoder = await createYahooDecoder();
 * const result = decoder.decode(frame); // a tick, or why the frame was refused
 * ```
 */
export async function createYahooDecoder(options: DecoderOptions = {}): Promise<YahooDecoder> {
  const text = await Deno.readTextFile(new URL("../schema/pricing.proto", import.meta.url));
  const type = protobuf.parse(text, { keepCase: true }).root.lookupType("PricingData");
  const source = options.source ?? "yahoo";
  const now = options.now ?? Date.now;
  const maxFuture = options.maxFutureMs ?? 5 * 60_000;

  function decode(frame: string): DecodeResult {
    let b64 = frame;
    if (frame.startsWith(ENVELOPE_HEAD) && frame.endsWith('"}') && frame.indexOf('"', HEAD_LEN) === frame.length - 2) {
      // The shape Yahoo sends every time, with nothing to unescape in base64: take the message without JSON.parse.
      b64 = frame.slice(HEAD_LEN, -2);
    } else if (frame.startsWith("{")) {
      let json: unknown;
      try {
        json = JSON.parse(frame);
      } catch {
        return reject("not_json", frame);
      }
      const env = envelopeSchema.safeParse(json);
      if (!env.success) return reject("bad_envelope", frame);
      if (env.data.type !== "pricing") return { kind: "skip", what: `message type ${env.data.type}` };
      b64 = env.data.message;
    }
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.fromBase64(b64.trim());
    } catch {
      return reject("bad_base64", b64);
    }
    let msg: Record<string, unknown>;
    try {
      msg = type.decode(bytes) as unknown as Record<string, unknown>;
    } catch (err) {
      return reject("bad_protobuf", (err as Error).message);
    }
    return normalize(msg);
  }

  function normalize(m: Record<string, unknown>): DecodeResult {
    const has = (k: string) => Object.hasOwn(m, k);
    const quoteTypeNum = Number(m.quoteType ?? 0);
    if (quoteTypeNum === HEARTBEAT) return { kind: "skip", what: "heartbeat" };
    const symbol = String(m.id ?? "").trim().toUpperCase();
    if (!SYMBOL_PATTERN.test(symbol)) return reject("bad_symbol", symbol);
    const raw = Number(m.price);
    if (!has("price") || !Number.isFinite(raw) || raw <= 0) return reject("bad_price", `${symbol} ${m.price}`);
    const time = Number(m.time);
    if (!Number.isSafeInteger(time) || time < MIN_TIME || time > now() + maxFuture) {
      return reject("bad_time", `${symbol} ${m.time}`);
    }
    const hintNum = has("priceHint") ? Number(m.priceHint) : NaN;
    const hint = Number.isInteger(hintNum) && hintNum > 0 && hintNum <= 12 ? hintNum : undefined;
    const tick: Tick = {
      symbol,
      price: roundFloat32(raw, hint),
      priceRaw: raw,
      time,
      source,
      quoteType: QUOTE_TYPES[quoteTypeNum] ?? "unknown",
      marketHours: MARKET_HOURS[Number(m.marketHours ?? 0)] ?? "extended",
    };
    const t = tick as Record<string, unknown>;
    for (const k of STRING_FIELDS) {
      const v = m[k];
      if (v !== undefined && v !== "" && has(k)) t[k] = String(v).slice(0, STRING_MAX[k]);
    }
    for (const k of MONEY_FIELDS) {
      const v = m[k];
      if (v !== undefined && has(k) && Number.isFinite(v)) t[k] = roundFloat32(v as number, hint);
    }
    for (const k of COUNT_FIELDS) {
      const v = m[k];
      if (v !== undefined && has(k) && Number.isSafeInteger(v) && (v as number) >= 0) t[k] = v;
    }
    if (has("changePercent") && Number.isFinite(m.changePercent)) {
      // A percentage to four decimals stays within float32's seven significant digits below 1,000 %.
      t.changePercent = Math.round((m.changePercent as number) * 1e4) / 1e4;
    }
    if (hint !== undefined) t.priceHint = hint;
    return { kind: "tick", tick };
  }

  return {
    decode(frame: string): DecodeResult {
      try {
        return decode(frame);
      } catch (err) {
        // Nothing above should throw; if it does, the frame is bad, not the feed.
        return reject("bad_protobuf", (err as Error).message);
      }
    },
    decodeRaw: (bytes) => type.decode(bytes) as unknown as Record<string, unknown>,
    encode(fields) {
      const err = type.verify(fields);
      if (err) throw new Error(`invalid PricingData: ${err}`);
      return type.encode(type.fromObject(fields)).finish().toBase64();
    },
  };
}

function reject(reason: RejectReason, detail: string): DecodeResult {
  return { kind: "reject", reason, detail: detail.length > 120 ? detail.slice(0, 120) + "…" : detail };
}

/**
 * The decimal a float32 stands for: rounded to `decimals` when the source says how many it quotes, otherwise the
 * shortest decimal that reads back as the same float32 (307.20001220703125 → 307.2).
 */
export function roundFloat32(v: number, decimals: number | undefined): number {
  if (!Number.isFinite(v)) return v;
  if (decimals !== undefined) {
    const f = 10 ** decimals;
    return Math.round(v * f) / f;
  }
  // Nine significant digits always read back as the same float32, and if p digits do, so do p + 1: binary search.
  const target = Math.fround(v);
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(v.toPrecision(mid))) === target) hi = mid;
    else lo = mid + 1;
  }
  return Number(v.toPrecision(lo));
}
