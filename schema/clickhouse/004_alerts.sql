-- Alerts raised by the rule engine, kept for the alert history.
--
-- An alert id is deterministic (rule, symbol and the crossing it reports), so an actor that replays ticks after a
--   restart and raises the same alert again writes the same key: ReplacingMergeTree ORDER BY (symbol, time, id)
--   keeps one row, and reads use FINAL.
-- PARTITION BY month: alerts are few; monthly partitions keep history queries ("last 30 days for AAPL") to one or
--   two partitions.
-- rule_id and user_id are empty for the built-in day-change rule; window is the rule's window ('15m'), empty for
--   rules without one.
CREATE TABLE IF NOT EXISTS alerts (
  id String,
  time DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
  symbol LowCardinality(String),
  rule_id String,
  user_id String,
  kind LowCardinality(String),
  `window` LowCardinality(String),
  message String CODEC(ZSTD(3)),
  price Float64,
  change_percent Float64,
  created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(time)
ORDER BY (symbol, time, id);
