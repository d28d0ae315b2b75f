import type { Candle } from "../schema/candle.ts";
import { INTERVALS } from "../schema/intervals.ts";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  CandlestickSeries,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  type UTCTimestamp,
} from "lightweight-charts";
import { api, ApiCallError } from "./lib/api.ts";
import { fmtMinute, fmtPrice, fmtTime, fmtVolume } from "./lib/format.ts";
import { chartTimeOptions, onTimeZoneChange } from "./lib/tz.ts";
import { chartColors } from "./lib/theme.ts";

/** Props the server renders the page with. */
export interface HistoryProps {
  symbols: string[];
  symbol: string;
  interval: string;
  /** yyyy-mm-dd, UTC. */
  from: string;
  to: string;
  /** True on the demo market: the page says its candles are generated. */
  demo?: boolean;
  /** The last history fetch, when it failed in whole or in part: what it means for these charts. */
  lastFetch?: { status: string; at: number; reason?: string };
}

/** Simple moving average of closes over `n` candles (from the n-th candle on). */
export function sma(candles: Candle[], n: number): { time: number; value: number }[] {
  const out: { time: number; value: number }[] = [];
  let sum = 0;
  candles.forEach((c, i) => {
    sum += c.close;
    if (i >= n) sum -= candles[i - n]!.close;
    if (i >= n - 1) out.push({ time: c.time, value: sum / n });
  });
  return out;
}

/** Exponential moving average of closes, seeded with the SMA of the first `n`. */
export function ema(candles: Candle[], n: number): { time: number; value: number }[] {
  if (candles.length < n) return [];
  const k = 2 / (n + 1);
  let value = candles.slice(0, n).reduce((s, c) => s + c.close, 0) / n;
  const out = [{ time: candles[n - 1]!.time, value }];
  for (let i = n; i < candles.length; i++) {
    value = candles[i]!.close * k + value * (1 - k);
    out.push({ time: candles[i]!.time, value });
  }
  return out;
}

/** Exponential moving average of `values` (seeded with the SMA of the first `n`), index-aligned from n-1 on. */
function emaValues(values: number[], n: number): number[] {
  if (values.length < n) return [];
  const k = 2 / (n + 1);
  let v = values.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const out = [v];
  for (let i = n; i < values.length; i++) out.push(v = values[i]! * k + v * (1 - k));
  return out;
}

/** Wilder's RSI of closes over `n` candles (first value at the n-th change). */
export function rsi(candles: Candle[], n = 14): { time: number; value: number }[] {
  if (candles.length <= n) return [];
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= n; i++) {
    const d = candles[i]!.close - candles[i - 1]!.close;
    if (d > 0) gain += d;
    else loss -= d;
  }
  gain /= n;
  loss /= n;
  const value = () => loss === 0 ? 100 : 100 - 100 / (1 + gain / loss);
  const out = [{ time: candles[n]!.time, value: value() }];
  for (let i = n + 1; i < candles.length; i++) {
    const d = candles[i]!.close - candles[i - 1]!.close;
    gain = (gain * (n - 1) + Math.max(d, 0)) / n;
    loss = (loss * (n - 1) + Math.max(-d, 0)) / n;
    out.push({ time: candles[i]!.time, value: value() });
  }
  return out;
}

/** MACD (fast EMA − slow EMA of closes), its signal line (EMA of MACD) and the histogram (MACD − signal). */
export function macd(
  candles: Candle[],
  fast = 12,
  slow = 26,
  signal = 9,
): { time: number; macd: number; signal: number; histogram: number }[] {
  const closes = candles.map((c) => c.close);
  const f = emaValues(closes, fast);
  const s = emaValues(closes, slow);
  if (s.length === 0) return [];
  // s[j] is at candle j + slow - 1; f at the same candle is f[j + slow - fast].
  const line = s.map((v, j) => f[j + slow - fast]! - v);
  const sig = emaValues(line, signal);
  return sig.map((v, j) => {
    const m = line[j + signal - 1]!;
    return { time: candles[j + signal - 1 + slow - 1]!.time, macd: m, signal: v, histogram: m - v };
  });
}

/** The CSV of the candles shown, one row per candle, ISO times in UTC. */
export function toCsv(symbol: string, candles: Candle[]): string {
  const rows = candles.map((c) =>
    [symbol, new Date(c.time).toISOString(), c.open, c.high, c.low, c.close, c.volume].join(",")
  );
  return ["symbol,time,open,high,low,close,volume", ...rows].join("\n") + "\n";
}

const day = (s: string) => Date.parse(`${s}T00:00:00Z`);
const sec = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;

/** Historical Analysis: pickers, candlesticks with volume, SMA/EMA overlays, crosshair readout and CSV download. */
export default function History(props: HistoryProps) {
  const [form, setForm] = useState({ symbol: props.symbol, interval: props.interval, from: props.from, to: props.to });
  const [candles, setCandles] = useState<Candle[]>([]);
  const [status, setStatus] = useState<{ loading: boolean; error?: string; info?: string; slow?: boolean }>({
    loading: false,
  });
  const [overlay, setOverlay] = useState({ sma: true, smaN: 20, ema: false, emaN: 50, rsi: false, macd: false });
  // RSI and MACD live in panes of their own below the price, made when switched on and removed when off.
  const panes = useRef<
    { rsi?: ISeriesApi<"Line">; macd?: [ISeriesApi<"Line">, ISeriesApi<"Line">, ISeriesApi<"Histogram">] }
  >({});
  const [readout, setReadout] = useState<Candle | undefined>();
  const box = useRef<HTMLDivElement>(null);
  const parts = useRef<
    {
      chart: IChartApi;
      candles: ISeriesApi<"Candlestick">;
      volume: ISeriesApi<"Histogram">;
      sma: ISeriesApi<"Line">;
      ema: ISeriesApi<"Line">;
    } | null
  >(null);
  const byTime = useRef(new Map<number, Candle>());
  // The interval of the candles drawn (daily ones are dates, read in UTC; intraday ones in the chosen zone).
  const drawn = useRef(form.interval);
  const [, setZoneTick] = useState(0);

  useEffect(() => {
    const time = () => chartTimeOptions(() => drawn.current === "1d");
    const chart = createChart(box.current!, {
      autoSize: true,
      ...chartColors(),
      localization: time().localization,
      // Fitting a short range must not stretch two candles across half the chart: bars stop widening at 18 px.
      timeScale: { timeVisible: true, secondsVisible: false, maxBarSpacing: 18, ...time().timeScale },
      crosshair: { mode: 0 },
    });
    const c = chart.addSeries(CandlestickSeries, {
      upColor: "#16a34a",
      downColor: "#dc2626",
      wickUpColor: "#16a34a",
      wickDownColor: "#dc2626",
      borderVisible: false,
    });
    // Volume on its own overlay scale in the bottom fifth, with no axis label or price line of its own, so its
    // figures never sit among the price labels (the legend and readout give the volume).
    const volume = chart.addSeries(HistogramSeries, {
      priceScaleId: "",
      priceFormat: { type: "volume" },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    c.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
    const smaLine = chart.addSeries(LineSeries, { color: "#f59e0b", lineWidth: 2, priceLineVisible: false });
    const emaLine = chart.addSeries(LineSeries, { color: "#8b5cf6", lineWidth: 2, priceLineVisible: false });
    chart.subscribeCrosshairMove((p) => {
      setReadout(p.time === undefined ? undefined : byTime.current.get((p.time as number) * 1000));
    });
    parts.current = { chart, candles: c, volume, sma: smaLine, ema: emaLine };
    const onTheme = () => chart.applyOptions(chartColors());
    globalThis.addEventListener("themechange", onTheme);
    const offZone = onTimeZoneChange(() => {
      chart.applyOptions(time());
      setZoneTick((n) => n + 1);
    });
    return () => {
      globalThis.removeEventListener("themechange", onTheme);
      offZone();
      chart.remove();
      parts.current = null;
    };
  }, []);

  const load = async (f = form) => {
    const from = day(f.from);
    const to = day(f.to) + 86_400_000 - 1;
    if (!f.symbol.trim()) return setStatus({ loading: false, error: "Enter a symbol." });
    if (!(from <= to)) return setStatus({ loading: false, error: "The start date must be on or before the end date." });
    setStatus({ loading: true });
    // A range the store lacks is fetched from the data provider within the request: say so when it takes a while.
    const slow = setTimeout(() => setStatus((s) => s.loading ? { ...s, slow: true } : s), 400);
    try {
      const h = await api<{
        candles: Candle[];
        fetched?: { provider: string; candlesWritten: number; ms: number; error?: { message: string } };
        notice?: string;
      }>(
        "GET",
        `/api/v1/history?symbol=${encodeURIComponent(f.symbol.trim().toUpperCase())}&interval=${f.interval}` +
          `&from=${from}&to=${to}`,
      );
      drawn.current = f.interval;
      setCandles(h.candles);
      const info = [
        h.fetched && !h.fetched.error
          ? `Fetched ${h.fetched.candlesWritten} candles from ${h.fetched.provider} in ${
            (h.fetched.ms / 1000).toFixed(1)
          } s and stored them.`
          : "",
        h.fetched?.error ? `${h.fetched.error.message}.` : "",
        h.notice ? `Note: ${h.notice}.` : "",
      ].filter(Boolean).join(" ");
      setStatus({
        loading: false,
        ...(info ? { info } : {}),
        ...(h.candles.length === 0 ? { error: "No candles in this range." } : {}),
      });
      const q = new URLSearchParams({ symbol: f.symbol.toUpperCase(), interval: f.interval, from: f.from, to: f.to });
      history.replaceState(null, "", `?${q}`);
    } catch (err) {
      setCandles([]);
      setStatus({ loading: false, error: err instanceof ApiCallError ? err.message : String(err) });
    } finally {
      clearTimeout(slow);
    }
  };
  useEffect(() => void load(), []);

  const smaLine = useMemo(() => overlay.sma ? sma(candles, overlay.smaN) : [], [candles, overlay.sma, overlay.smaN]);
  const emaLine = useMemo(() => overlay.ema ? ema(candles, overlay.emaN) : [], [candles, overlay.ema, overlay.emaN]);
  const rsiLine = useMemo(() => overlay.rsi ? rsi(candles, 14) : [], [candles, overlay.rsi]);
  const macdLines = useMemo(() => overlay.macd ? macd(candles) : [], [candles, overlay.macd]);
  useEffect(() => {
    const p = parts.current;
    if (!p) return;
    // Rebuilt in order on any switch, so RSI is always the pane under the price and MACD the one after.
    const old = panes.current;
    if (old.rsi) p.chart.removeSeries(old.rsi);
    for (const s of old.macd ?? []) p.chart.removeSeries(s);
    panes.current = {};
    let pane = 1;
    if (overlay.rsi) {
      panes.current.rsi = p.chart.addSeries(
        LineSeries,
        { color: "#0ea5e9", lineWidth: 2, priceLineVisible: false },
        pane++,
      );
    }
    if (overlay.macd) {
      panes.current.macd = [
        p.chart.addSeries(LineSeries, { color: "#2563eb", lineWidth: 2, priceLineVisible: false }, pane),
        p.chart.addSeries(LineSeries, { color: "#f97316", lineWidth: 1, priceLineVisible: false }, pane),
        p.chart.addSeries(HistogramSeries, { priceLineVisible: false }, pane),
      ];
    }
  }, [overlay.rsi, overlay.macd]);
  useEffect(() => {
    const p = parts.current;
    if (!p) return;
    byTime.current = new Map(candles.map((c) => [c.time, c]));
    p.candles.setData(
      candles.map((c) => ({ time: sec(c.time), open: c.open, high: c.high, low: c.low, close: c.close })),
    );
    p.volume.setData(candles.map((c) => ({
      time: sec(c.time),
      value: c.volume,
      color: c.close >= c.open ? "rgba(22,163,74,0.45)" : "rgba(220,38,38,0.45)",
    })));
    p.sma.setData(smaLine.map((x) => ({ time: sec(x.time), value: x.value })));
    p.ema.setData(emaLine.map((x) => ({ time: sec(x.time), value: x.value })));
    panes.current.rsi?.setData(rsiLine.map((x) => ({ time: sec(x.time), value: x.value })));
    const m = panes.current.macd;
    if (m) {
      m[0].setData(macdLines.map((x) => ({ time: sec(x.time), value: x.macd })));
      m[1].setData(macdLines.map((x) => ({ time: sec(x.time), value: x.signal })));
      m[2].setData(macdLines.map((x) => ({
        time: sec(x.time),
        value: x.histogram,
        color: x.histogram >= 0 ? "rgba(22,163,74,0.6)" : "rgba(220,38,38,0.6)",
      })));
    }
    p.chart.timeScale().fitContent();
  }, [candles, overlay]);

  // The indicators' values at the crosshair's candle, for the readout.
  const valueAt = useMemo(() => {
    const m = (xs: { time: number; value: number }[]) => new Map(xs.map((x) => [x.time, x.value]));
    return { sma: m(smaLine), ema: m(emaLine), rsi: m(rsiLine), macd: new Map(macdLines.map((x) => [x.time, x])) };
  }, [smaLine, emaLine, rsiLine, macdLines]);
  const indicatorsAt = (t: number) => {
    const parts: string[] = [];
    const sv = valueAt.sma.get(t);
    const ev = valueAt.ema.get(t);
    const rv = valueAt.rsi.get(t);
    const mv = valueAt.macd.get(t);
    if (sv !== undefined) parts.push(`SMA ${fmtPrice(sv)}`);
    if (ev !== undefined) parts.push(`EMA ${fmtPrice(ev)}`);
    if (rv !== undefined) parts.push(`RSI ${rv.toFixed(1)}`);
    if (mv) parts.push(`MACD ${fmtPrice(mv.macd)}/${fmtPrice(mv.signal)}`);
    return parts.length ? `  ${parts.join("  ")}` : "";
  };
  const pane = (key: "rsi" | "macd", label: string) => (
    <label class="check">
      <input
        type="checkbox"
        name={key}
        checked={overlay[key]}
        onChange={(e) => setOverlay({ ...overlay, [key]: (e.target as HTMLInputElement).checked })}
      />{" "}
      {label}
    </label>
  );
  const legend = (on: boolean, name: string, n: number, line: { value: number }[], color: string, id: string) =>
    on && (
      <span class="legend num" data-testid={id} style={{ borderColor: color }}>
        {line.length > 0 ? `${name} ${n} ${fmtPrice(line.at(-1)!.value)}` : `${name} ${n}: needs ${n} candles`}
      </span>
    );

  const download = () => {
    const blob = new Blob([toCsv(form.symbol.toUpperCase(), candles)], { type: "text/csv" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${form.symbol.toUpperCase()}_${form.interval}_${form.from}_${form.to}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1_000);
  };
  const shown = readout ?? candles.at(-1);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const last = props.lastFetch;
  return (
    <section class="history">
      {props.demo && (
        <p class="banner" role="note" data-testid="demo-note">
          Demo market: these candles are generated (five years daily, 30 sessions of minutes), not real quotes.
        </p>
      )}
      {last && (
        <p class="banner banner-warn" role="alert" data-testid="job-warning">
          The last history fetch {last.status === "failed" ? "failed" : "partly failed"} at {fmtTime(last.at)}
          {last.reason ? ` (${last.reason})` : ""}. Charts show what is stored; it runs again on its schedule.
        </p>
      )}
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label>
          Symbol
          <input name="symbol" list="known-symbols" value={form.symbol} onInput={set("symbol")} required size={8} />
          <datalist id="known-symbols">{props.symbols.map((s) => <option key={s} value={s} />)}</datalist>
        </label>
        <label>
          From <input type="date" name="from" value={form.from} onInput={set("from")} required />
        </label>
        <label>
          To <input type="date" name="to" value={form.to} onInput={set("to")} required />
        </label>
        <label>
          Interval
          <select name="interval" value={form.interval} onChange={set("interval")}>
            {INTERVALS.map((i) => <option key={i} value={i}>{i}</option>)}
          </select>
        </label>
        <button type="submit" disabled={status.loading}>{status.loading ? "Loading…" : "Show"}</button>
        <button type="button" onClick={download} disabled={candles.length === 0} data-testid="csv">
          Download CSV
        </button>
      </form>
      <div class="toolbar overlays">
        <label>
          <input
            type="checkbox"
            checked={overlay.sma}
            onChange={(e) => setOverlay({ ...overlay, sma: (e.target as HTMLInputElement).checked })}
          />{" "}
          SMA
        </label>
        <input
          type="number"
          min={2}
          max={400}
          aria-label="SMA period"
          value={overlay.smaN}
          onChange={(e) =>
            setOverlay({ ...overlay, smaN: Math.max(2, Number((e.target as HTMLInputElement).value) || 20) })}
        />
        <label>
          <input
            type="checkbox"
            checked={overlay.ema}
            onChange={(e) => setOverlay({ ...overlay, ema: (e.target as HTMLInputElement).checked })}
          />{" "}
          EMA
        </label>
        <input
          type="number"
          min={2}
          max={400}
          aria-label="EMA period"
          value={overlay.emaN}
          onChange={(e) =>
            setOverlay({ ...overlay, emaN: Math.max(2, Number((e.target as HTMLInputElement).value) || 50) })}
        />
        {legend(overlay.sma, "SMA", overlay.smaN, smaLine, "#f59e0b", "legend-sma")}
        {legend(overlay.ema, "EMA", overlay.emaN, emaLine, "#8b5cf6", "legend-ema")}
        {pane("rsi", "RSI 14")}
        {pane("macd", "MACD 12 26 9")}
        {legend(overlay.rsi, "RSI", 14, rsiLine, "#0ea5e9", "legend-rsi")}
        {overlay.macd && (
          <span class="legend num" data-testid="legend-macd" style={{ borderColor: "#2563eb" }}>
            {macdLines.length > 0
              ? `MACD ${fmtPrice(macdLines.at(-1)!.macd)} signal ${fmtPrice(macdLines.at(-1)!.signal)} hist ${
                fmtPrice(macdLines.at(-1)!.histogram)
              }`
              : "MACD: needs 34 candles"}
          </span>
        )}
        <span class="readout num" data-testid="readout" aria-live="polite">
          {shown
            ? `${drawn.current === "1d" ? new Date(shown.time).toISOString().slice(0, 10) : fmtMinute(shown.time)}  O ${
              fmtPrice(shown.open)
            }  H ${fmtPrice(shown.high)}  L ${fmtPrice(shown.low)}  C ${fmtPrice(shown.close)}  V ${
              fmtVolume(shown.volume)
            }${indicatorsAt(shown.time)}`
            : "\u00a0"}
        </span>
      </div>
      {status.error && <p class="error" role="alert">{status.error}</p>}
      <p class="muted" role="status" data-testid="history-status">
        {status.loading && status.slow
          ? `Fetching ${form.symbol.toUpperCase()} history from the data provider…`
          : !status.loading && status.info
          ? status.info
          : "\u00a0"}
      </p>
      <div class="chart tall" ref={box} role="img" aria-label={`candlestick chart of ${form.symbol}`} />
      <p class="muted num" data-testid="count">{candles.length} {candles.length === 1 ? "candle" : "candles"}</p>
    </section>
  );
}
