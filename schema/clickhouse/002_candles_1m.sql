-- One-minute OHLCV candles, built live by the symbol actors and fetched from providers.
--
-- Idempotent on (symbol, time): ReplacingMergeTree(version) keeps one row per sorting key, the highest version
--   (write time in ms) winning, so a candle written again (a replay, a restart, a provider's corrected bar) replaces
--   the earlier one. Reads use FINAL so a re-insert is never counted twice before the background merge runs.
-- PARTITION BY month: about 400-1,000 bars per symbol per trading day; a month per partition keeps parts large,
--   lets FINAL work partition by partition, and gives a natural unit for dropping or re-fetching old history.
-- Codecs: as for ticks; trades and volume are integers that fit the T64 transform well.
CREATE TABLE IF NOT EXISTS candles_1m (
  symbol LowCardinality(String),
  time DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
  open Float64 CODEC(Gorilla, ZSTD(1)),
  high Float64 CODEC(Gorilla, ZSTD(1)),
  low Float64 CODEC(Gorilla, ZSTD(1)),
  close Float64 CODEC(Gorilla, ZSTD(1)),
  volume UInt64 CODEC(T64, ZSTD(1)),
  vwap Float64 CODEC(Gorilla, ZSTD(1)),
  trades UInt32 CODEC(T64, ZSTD(1)),
  source LowCardinality(String),
  version UInt64 CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(time)
ORDER BY (symbol, time);
