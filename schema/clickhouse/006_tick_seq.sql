-- Arrival position of each tick (schema/tick.ts `seq`): strictly increasing in the order the ingest sink accepted
-- ticks, across restarts. An actor's snapshot records the position of the last tick it consumed, and replay after a
-- restart takes exactly the ticks after it, in arrival order, so a candle spanning a restart counts each trade once
-- even when many ticks share one millisecond. Rows written before this column existed read 0.
-- Delta: consecutive rows of one symbol are close in arrival order, so the differences are small.
ALTER TABLE ticks ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0 CODEC(Delta, ZSTD(1));
