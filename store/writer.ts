/**
 * The store's one writer for live data: ticks from the feeds, and the closed one-minute candles and alerts the actors
 * produce. Each table has its own write-ahead-logged lane ({@link TableWriter}), so every value handed to it reaches
 * ClickHouse exactly once, in batches, and waits on disk while the store is down.
 */
import type { Alert } from "../schema/alert.ts";
import type { MetricsRegistry } from "../schema/metrics.ts";
import type { Tick } from "../schema/tick.ts";
import { alertToRow } from "./rows.ts";
import type { Row, Store } from "./store.ts";
import { TableWriter, TickWriter, type TickWriterOptions } from "./tick_writer.ts";

/** Options of {@link StoreWriter.open}. */
export interface StoreWriterOptions {
  /** Options of the ticks lane (large batches, about one a second). */
  ticks?: Omit<TickWriterOptions, "table" | "onError">;
  /** Candles and alerts are few: they go to the store this soon after they are logged (default 250 ms). */
  eventFlushMs?: number;
  /** Called with each failure of any lane, and the lane's table. */
  onError?: (err: unknown, table: string) => void;
}

/** A candle row already mapped (candles carry their symbol and source, which the actor system knows). */
export type CandleRow = Row;

/**
 * The tick, candle and alert lanes over one store, logged under `dir` (ticks), `dir-candles_1m` and `dir-alerts`.
 *
 * @example
 * ```ts
 * const writer = await StoreWriter.open(store, join(dataDir, "wal"));
 * await writer.ticks.append(ticks);
 * await writer.candles.append([minuteRow("AAPL", candle, "yahoo", Date.now())]);
 * await writer.close();
 * ```
 */
export class StoreWriter {
  /** Ticks from the feeds. */
  readonly ticks: TableWriter<Tick>;
  /** Closed one-minute candles (rows of candles_1m). */
  readonly candles: TableWriter<CandleRow>;
  /** Alerts raised by rules. */
  readonly alerts: TableWriter<Alert>;

  private constructor(ticks: TableWriter<Tick>, candles: TableWriter<CandleRow>, alerts: TableWriter<Alert>) {
    this.ticks = ticks;
    this.candles = candles;
    this.alerts = alerts;
  }

  /**
   * Opens the three lanes; what a previous process logged and did not store is inserted first.
   *
   * @param dir the ticks lane's directory; the other lanes sit beside it
   */
  static async open(store: Store, dir: string, options: StoreWriterOptions = {}): Promise<StoreWriter> {
    const onError = (table: string) => (err: unknown) => options.onError?.(err, table);
    const events = { flushIntervalMs: options.eventFlushMs ?? 250 };
    const ticks = await TickWriter.open(store, dir, { ...options.ticks, onError: onError("ticks") });
    const candles = await TableWriter.open<CandleRow>(store, `${dir}-candles_1m`, (r) => r, {
      ...events,
      table: "candles_1m",
      onError: onError("candles_1m"),
    });
    const alerts = await TableWriter.open(store, `${dir}-alerts`, alertToRow, {
      ...events,
      table: "alerts",
      onError: onError("alerts"),
    });
    return new StoreWriter(ticks, candles, alerts);
  }

  /** Inserts everything logged so far in every lane; rejects when the store refuses (the rows stay logged). */
  async flush(): Promise<void> {
    await Promise.all([this.ticks.flush(), this.candles.flush(), this.alerts.flush()]);
  }

  /** Stops every lane after a last insert; rows the store did not take stay logged for the next start. */
  async close(): Promise<void> {
    await Promise.all([this.ticks.close(), this.candles.close(), this.alerts.close()]);
  }
}

/**
 * Declares the writer's metrics (the tick lane's, as operators alert on them) on `metrics`.
 *
 * @example
 * ```ts
 * declareWriterMetrics(metrics, writer);
 * ```
 */
export function declareWriterMetrics(metrics: MetricsRegistry, writer: StoreWriter): void {
  const ticks = () => writer.ticks.stats();
  metrics
    .gauge("breadboard_ticks_stored", "Ticks inserted into ClickHouse since start", () => ticks().stored)
    .gauge("breadboard_tick_backlog_bytes", "Logged tick bytes not yet in ClickHouse", () => ticks().backlogBytes)
    .gauge("breadboard_store_up", "1 when the last tick insert succeeded", () => ticks().storeUp ? 1 : 0)
    .counterFrom(
      "breadboard_ticks_accepted_total",
      "Ticks fsynced to the write-ahead log (accepted; each reaches the store exactly once)",
      () => ticks().accepted,
    );
}
