-- Runs of scheduled and manual jobs (OHLCV fetch, backfill) with their data-quality findings.
--
-- A run is written when it starts and written again, with a higher version, when it ends: ReplacingMergeTree(version)
--   keeps the latest state of each (job, started_at, id), read with FINAL.
-- PARTITION BY month: a few runs a day; monthly partitions make dropping old runs cheap.
-- findings is JSON text (counts and examples per check): the shape belongs to the job code, not to the schema.
CREATE TABLE IF NOT EXISTS job_runs (
  id String,
  job LowCardinality(String),
  started_at DateTime64(3, 'UTC'),
  finished_at Nullable(DateTime64(3, 'UTC')),
  status LowCardinality(String),
  symbols UInt32,
  rows_written UInt64,
  findings String CODEC(ZSTD(3)),
  error String,
  version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (job, started_at, id);
