-- Daily OHLCV candles: five years and more per symbol, from the scheduled fetch and backfill.
--
-- Idempotent on (symbol, day) the same way as candles_1m: ReplacingMergeTree(version), read with FINAL.
-- time is a Date: a trading day has no time of day, and Date is two bytes.
-- PARTITION BY year: ~252 rows per symbol per year is small, so coarse partitions keep the part count low.
-- adj_close is the split- and dividend-adjusted close the provider reports (0 when it gives none).
CREATE TABLE IF NOT EXISTS candles_1d (
  symbol LowCardinality(String),
  time Date CODEC(DoubleDelta, ZSTD(1)),
  open Float64 CODEC(Gorilla, ZSTD(1)),
  high Float64 CODEC(Gorilla, ZSTD(1)),
  low Float64 CODEC(Gorilla, ZSTD(1)),
  close Float64 CODEC(Gorilla, ZSTD(1)),
  adj_close Float64 CODEC(Gorilla, ZSTD(1)),
  volume UInt64 CODEC(T64, ZSTD(1)),
  source LowCardinality(String),
  version UInt64 CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYear(time)
ORDER BY (symbol, time);
