import assert from "node:assert/strict";
import { tickSchema } from "../schema/tick.ts";
import { createYahooDecoder, REJECT_REASONS, roundFloat32 } from "./yahoo_decode.ts";

const NOW = Date.UTC(2026, 10, 20, 15, 30);
const decoder = await createYahooDecoder({ now: () => NOW });

const AAPL = {
  id: "AAPL",
  price: 307.2,
  time: NOW - 1000,
  currency: "USD",
  exchange: "NMS",
  quoteType: 8,
  marketHours: 1,
  changePercent: -5.2134,
  dayVolume: 48_123_456,
  dayHigh: 324.5,
  dayLow: 306.85,
  change: -16.9,
  shortName: "Apple Inc.",
  openPrice: 323.1,
  previousClose: 324.1,
  bid: 307.19,
  bidSize: 300,
  ask: 307.21,
  askSize: 200,
  lastSize: 100,
  priceHint: 2,
};

Deno.test("a version=2 pricing envelope decodes to a normalized tick", () => {
  const frame = JSON.stringify({ type: "pricing", message: decoder.encode(AAPL) });
  const r = decoder.decode(frame);
  assert.equal(r.kind, "tick");
  if (r.kind !== "tick") return;
  assert.deepEqual(r.tick, {
    symbol: "AAPL",
    price: 307.2,
    priceRaw: Math.fround(307.2),
    time: NOW - 1000,
    source: "yahoo",
    quoteType: "equity",
    marketHours: "regular",
    currency: "USD",
    exchange: "NMS",
    shortName: "Apple Inc.",
    change: -16.9,
    changePercent: -5.2134,
    dayVolume: 48_123_456,
    dayHigh: 324.5,
    dayLow: 306.85,
    openPrice: 323.1,
    previousClose: 324.1,
    bid: 307.19,
    bidSize: 300,
    ask: 307.21,
    askSize: 200,
    lastSize: 100,
    priceHint: 2,
  });
  assert.notEqual(r.tick.priceRaw, 307.2, "the raw float32 is kept as sent");
  tickSchema.parse(r.tick);
});

Deno.test("a bare base64 frame decodes the same as the envelope", () => {
  const r = decoder.decode(decoder.encode(AAPL));
  assert.equal(r.kind, "tick");
  if (r.kind === "tick") assert.equal(r.tick.price, 307.2);
});

Deno.test("fields the upstream did not send stay absent instead of becoming zero", () => {
  const r = decoder.decode(decoder.encode({ id: "BTC-USD", price: 97123.5, time: NOW, quoteType: 41, marketHours: 1 }));
  assert.equal(r.kind, "tick");
  if (r.kind !== "tick") return;
  assert.equal(r.tick.quoteType, "crypto");
  assert.equal(r.tick.bid, undefined);
  assert.equal(r.tick.dayVolume, undefined);
  assert.equal(r.tick.priceHint, undefined);
  assert.equal(r.tick.price, 97123.5);
});

Deno.test("prices are rounded to priceHint decimals, or to the shortest float32 decimal without one", () => {
  const fx = decoder.decode(decoder.encode({ id: "EURUSD=X", price: 1.08374, time: NOW, quoteType: 14, priceHint: 4 }));
  assert.ok(fx.kind === "tick" && fx.tick.price === 1.0837);
  assert.equal(roundFloat32(Math.fround(307.2), undefined), 307.2);
  assert.equal(roundFloat32(Math.fround(0.1), undefined), 0.1);
  assert.equal(roundFloat32(Math.fround(12345.678), undefined), 12345.678);
  assert.equal(roundFloat32(Math.fround(307.2), 2), 307.2);
  assert.equal(roundFloat32(Math.fround(0.00012345), 6), 0.000123);
});

Deno.test("market hours and quote types come out as names", () => {
  const names = [0, 1, 2, 3, 4].map((mh) => {
    const r = decoder.decode(decoder.encode({ id: "SPY", price: 600, time: NOW, quoteType: 20, marketHours: mh }));
    return r.kind === "tick" ? [r.tick.marketHours, r.tick.quoteType] : r.kind;
  });
  assert.deepEqual(names, [
    ["pre", "etf"],
    ["regular", "etf"],
    ["post", "etf"],
    ["extended", "etf"],
    ["overnight", "etf"],
  ]);
  const idx = decoder.decode(decoder.encode({ id: "^GSPC", price: 6000, time: NOW, quoteType: 9 }));
  assert.ok(idx.kind === "tick" && idx.tick.quoteType === "index");
  const fut = decoder.decode(decoder.encode({ id: "ES=F", price: 6000, time: NOW, quoteType: 18 }));
  assert.ok(fut.kind === "tick" && fut.tick.quoteType === "future");
});

Deno.test("heartbeats and other message types are skipped, not rejected", () => {
  assert.equal(decoder.decode(decoder.encode({ id: "AAPL", quoteType: 7, time: NOW })).kind, "skip");
  assert.equal(decoder.decode(JSON.stringify({ type: "status", message: "ok" })).kind, "skip");
});

Deno.test("unknown protobuf fields are ignored", () => {
  const known = Uint8Array.fromBase64(decoder.encode(AAPL));
  // field 50, varint 1; field 51, length-delimited "hi"
  const extra = new Uint8Array([...known, 0x90, 0x03, 0x01, 0x9a, 0x03, 0x02, 0x68, 0x69]);
  const r = decoder.decode(extra.toBase64());
  assert.ok(r.kind === "tick" && r.tick.price === 307.2);
});

for (
  const [what, frame, reason] of [
    ["non-JSON text that starts like JSON", "{not json", "not_json"],
    ["JSON without a message", JSON.stringify({ type: "pricing" }), "bad_envelope"],
    ["JSON with a numeric message", JSON.stringify({ type: "pricing", message: 5 }), "bad_envelope"],
    ["bad base64", "@@not base64@@", "bad_base64"],
    ["bad base64 inside the envelope", JSON.stringify({ type: "pricing", message: "!!" }), "bad_base64"],
    ["truncated protobuf", () => decoder.encode(AAPL).slice(0, 16), "bad_protobuf"],
    ["a symbol that is not a symbol", () => decoder.encode({ ...AAPL, id: "AA PL;--" }), "bad_symbol"],
    ["an empty symbol", () => decoder.encode({ ...AAPL, id: "" }), "bad_symbol"],
    ["NaN price", () => decoder.encode({ ...AAPL, price: NaN }), "bad_price"],
    ["negative price", () => decoder.encode({ ...AAPL, price: -1 }), "bad_price"],
    ["zero price", () => decoder.encode({ ...AAPL, price: 0 }), "bad_price"],
    ["infinite price", () => decoder.encode({ ...AAPL, price: Infinity }), "bad_price"],
    ["a time a day in the future", () => decoder.encode({ ...AAPL, time: NOW + 86_400_000 }), "bad_time"],
    ["a time before 2000", () => decoder.encode({ ...AAPL, time: 12345 }), "bad_time"],
  ] as const
) {
  Deno.test(`${what} is rejected as ${reason}`, () => {
    const r = decoder.decode(typeof frame === "function" ? frame() : frame);
    assert.equal(r.kind, "reject");
    if (r.kind === "reject") assert.equal(r.reason, reason);
  });
}

Deno.test("the decoder survives 20,000 random and mutated frames without throwing", () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const valid = Uint8Array.fromBase64(decoder.encode(AAPL));
  const counts: Record<string, number> = {};
  for (let i = 0; i < 20_000; i++) {
    let frame: string;
    const mode = i % 4;
    if (mode === 0) {
      const bytes = new Uint8Array(Math.floor(rand() * 120));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      frame = bytes.toBase64();
    } else if (mode === 1) {
      const bytes = valid.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
        const at = Math.floor(rand() * bytes.length);
        bytes[at] = bytes[at]! ^ (1 << Math.floor(rand() * 8));
      }
      frame = JSON.stringify({ type: "pricing", message: bytes.toBase64() });
    } else if (mode === 2) {
      frame = valid.slice(0, Math.floor(rand() * valid.length)).toBase64();
    } else {
      frame = Array.from({ length: Math.floor(rand() * 60) }, () => String.fromCharCode(Math.floor(rand() * 128)))
        .join("");
    }
    const r = decoder.decode(frame);
    counts[r.kind === "reject" ? r.reason : r.kind] = (counts[r.kind === "reject" ? r.reason : r.kind] ?? 0) + 1;
    if (r.kind === "tick") tickSchema.parse(r.tick);
    else if (r.kind === "reject") assert.ok(REJECT_REASONS.includes(r.reason));
  }
  assert.ok((counts.tick ?? 0) > 100, `some mutations still decode to valid ticks: ${JSON.stringify(counts)}`);
  assert.ok((counts.bad_protobuf ?? 0) > 100, JSON.stringify(counts));
  assert.ok((counts.bad_base64 ?? 0) > 100, JSON.stringify(counts));
});
