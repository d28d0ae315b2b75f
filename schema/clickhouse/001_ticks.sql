-- Raw ticks: one row per price update from a feed, kept 90 days (the real-time retention).
--
-- ORDER BY (symbol, time): every read is "one symbol over a time range", so that range is one contiguous slice of
--   the primary index; symbol is LowCardinality (a few thousand values), which keeps the key and the column small.
-- PARTITION BY day: TTL with ttl_only_drop_parts removes a whole day's parts at once instead of rewriting them,
--   and ~90 live partitions stays far below the point where partition count hurts inserts and merges.
-- Codecs: time only grows within a symbol, so DoubleDelta stores it in a few bits per row; prices and the
--   derived floats move in small steps between neighbours, which Gorilla (XOR with the previous value) packs well;
--   day_volume is a running counter, so Delta leaves small numbers; sizes are small integers (T64). ZSTD(1) on top
--   of each is cheap to decode and takes the rest.
-- non_replicated_deduplication_window: a batch sent again with the same insert_deduplication_token (the write-ahead
--   log replaying after a crash) is dropped, so every accepted tick is stored exactly once.
-- price is rounded to price_hint decimals; price_raw keeps the float32 the upstream sent.
CREATE TABLE IF NOT EXISTS ticks (
  symbol LowCardinality(String),
  time DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
  price Float64 CODEC(Gorilla, ZSTD(1)),
  price_raw Float32 CODEC(Gorilla, ZSTD(1)),
  change Float64 CODEC(Gorilla, ZSTD(1)),
  change_percent Float64 CODEC(Gorilla, ZSTD(1)),
  day_volume UInt64 CODEC(Delta, ZSTD(1)),
  day_high Float64 CODEC(Gorilla, ZSTD(1)),
  day_low Float64 CODEC(Gorilla, ZSTD(1)),
  open_price Float64 CODEC(Gorilla, ZSTD(1)),
  previous_close Float64 CODEC(Gorilla, ZSTD(1)),
  bid Float64 CODEC(Gorilla, ZSTD(1)),
  bid_size UInt64 CODEC(T64, ZSTD(1)),
  ask Float64 CODEC(Gorilla, ZSTD(1)),
  ask_size UInt64 CODEC(T64, ZSTD(1)),
  last_size UInt64 CODEC(T64, ZSTD(1)),
  price_hint UInt8,
  currency LowCardinality(String),
  exchange LowCardinality(String),
  quote_type LowCardinality(String),
  market_hours LowCardinality(String),
  source LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toDate(time)
ORDER BY (symbol, time)
TTL toDateTime(time) + INTERVAL 90 DAY
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;
