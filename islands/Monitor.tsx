import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { AreaSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from "lightweight-charts";
import { api } from "./lib/api.ts";
import { fmtChange, fmtPercent, fmtPrice, fmtTime, fmtVolume } from "./lib/format.ts";
import { connectLive, type LiveQuote, type LiveState } from "./lib/live.ts";
import { chartColors, cssVar } from "./lib/theme.ts";
import { chartTimeOptions, onTimeZoneChange } from "./lib/tz.ts";
import { exchangeDay, exchangeDayRange, exchangeOpen } from "../schema/exchange.ts";

/** The live feed as the Monitor explains it: its name (FEED) and its state from /api/v1/health. */
export interface FeedView {
  name: string;
  state: string;
  error?: string;
  since?: number;
}

/** Props the server renders the Monitor with. */
export interface MonitorProps {
  symbols: string[];
  /** Latest known quotes, so the first paint already shows prices. */
  quotes: LiveQuote[];
  /** The feed of this process, when it runs one. */
  feed?: FeedView;
}

const FEED_NAME: Record<string, string> = { yahoo: "Yahoo", massive: "Massive", replay: "The replay" };

/** What is wrong with the prices, and what to do about it; undefined when nothing is. */
export function feedBanner(f: FeedView | undefined): { tone: "warn" | "info"; text: string } | undefined {
  if (!f) return undefined;
  const who = FEED_NAME[f.name] ?? f.name;
  const since = f.since ? ` since ${fmtTime(f.since)}` : "";
  const why = f.error ? ` (${f.error})` : "";
  if (f.name === "synthetic") {
    return f.state === "closed"
      ? {
        tone: "info",
        text:
          "Demo market: generated prices, resting while the NYSE is closed. SYNTHETIC_ALWAYS_OPEN=true keeps it ticking.",
      }
      : { tone: "info", text: "Demo market: generated prices, not real quotes." };
  }
  if (f.state === "unreachable") {
    return {
      tone: "warn",
      text: `${who}'s stream is unreachable from this machine${since}${why}. Retrying; FEED=synthetic runs a demo.`,
    };
  }
  if (f.state === "reconnecting") return { tone: "warn", text: `Lost ${who}'s stream${since}${why}. Reconnecting…` };
  if (f.state === "error") return { tone: "warn", text: `${who} refused the feed${why}. Fix the setting and restart.` };
  return undefined;
}

const MARKET_LABEL: Record<string, string> = {
  pre: "Pre-market",
  regular: "Market open",
  post: "After hours",
  extended: "Extended hours",
  overnight: "Overnight",
  closed: "Market closed",
};

/** How long a symbol may go without a tick before it is marked stale, by session. */
export function staleAfterMs(marketHours: string): number | undefined {
  if (marketHours === "regular") return 60_000;
  if (marketHours === "closed") return undefined;
  return 300_000;
}

interface TileState {
  quote?: LiveQuote;
  /** When the last update arrived (ms). */
  seenAt: number;
  flash?: "up" | "down";
  /** Flips on each flash so the animation restarts. */
  flip: 0 | 1;
}

function Tile(
  { symbol, t, now, selected, onSelect }: {
    symbol: string;
    t: TileState | undefined;
    now: number;
    selected: boolean;
    onSelect: () => void;
  },
) {
  const q = t?.quote;
  const limit = q ? staleAfterMs(q.marketHours) : undefined;
  const stale = q !== undefined && limit !== undefined && now - t!.seenAt > limit;
  const dir = !q || q.change === 0 ? "flat" : q.change > 0 ? "up" : "down";
  return (
    <button
      type="button"
      class={`tile ${selected ? "selected" : ""}`}
      aria-pressed={selected}
      onClick={onSelect}
      data-symbol={symbol}
    >
      <span class="tile-head">
        <span class="tile-symbol">{symbol}</span>
        {stale && <span class="badge stale" title={`no tick since ${fmtTime(t!.seenAt)}`}>stale</span>}
      </span>
      {
        /* A new key per move remounts the span, which restarts its flash: a tint behind the price in the colour of
          the tick's direction, under text in the page's own colour so either tint keeps its contrast. */
      }
      <span key={t?.flip} class={`tile-price num ${t?.flash ? `flash-${t.flash}` : ""}`} data-testid="price">
        {q ? fmtPrice(q.price, q.priceHint) : "—"}
      </span>
      <span class={`tile-change num ${dir}`}>
        {q ? `${fmtChange(q.change, q.priceHint)} (${fmtPercent(q.changePercent)})` : "waiting for a tick"}
      </span>
      <span class="tile-ohlc num" data-testid="ohlc">
        {q
          ? (
            <>
              <span title="the day's open">O {fmtPrice(q.open || q.price, q.priceHint)}</span>{" "}
              <span title="the day's high">H {fmtPrice(q.dayHigh, q.priceHint)}</span>{" "}
              <span title="the day's low">L {fmtPrice(q.dayLow, q.priceHint)}</span>{" "}
              <span title="the previous trading day's close">
                PC {q.previousClose > 0 ? fmtPrice(q.previousClose, q.priceHint) : "—"}
              </span>
            </>
          )
          : ""}
      </span>
      <span class="tile-meta num">
        {q ? `vol ${fmtVolume(q.dayVolume)} · ${MARKET_LABEL[q.marketHours] ?? ""}` : ""}
      </span>
    </button>
  );
}

/** A live line's point: one per minute, the minute's last price; `value` absent for a minute with no trade. */
type LinePoint = { time: UTCTimestamp; value?: number };

/**
 * The line of one exchange day: a point per minute with a price, and empty minutes between them, so the time axis
 * runs at a constant minute pace (lightweight-charts spaces points evenly, whatever their times).
 */
export function minuteLine(closes: { time: number; close: number }[]): LinePoint[] {
  const out: LinePoint[] = [];
  let last = -1;
  for (const k of closes) {
    const m = Math.floor(k.time / 60_000);
    if (m <= last) continue;
    // Gaps of up to 8 hours are kept as empty minutes: a quiet stretch shows as one, not squeezed away.
    if (last >= 0 && m - last <= 480) {
      for (let g = last + 1; g < m; g++) out.push({ time: (g * 60) as UTCTimestamp });
    }
    out.push({ time: (m * 60) as UTCTimestamp, value: k.close });
    last = m;
  }
  return out;
}

/** Line colours by direction against the previous close (the page's up and down colours). */
function directionColors(up: boolean) {
  const line = up ? cssVar("--up", "#22c55e") : cssVar("--down", "#f05252");
  return { lineColor: line, topColor: `${line}55`, bottomColor: `${line}05` };
}

/** Whether a quote is up on the day: against the previous close, or by its change when that is unknown. */
const isUp = (q: LiveQuote) => q.previousClose > 0 ? q.price >= q.previousClose : q.change >= 0;

/**
 * A live line of one symbol's price over its exchange day so far: today's minute closes, then each tick moving the
 * current minute's point. A real time axis (a point per minute), the day's session in view, coloured by direction
 * against the previous close, which is drawn as a dashed line.
 */
function LiveChart({ symbol, latest }: { symbol: string; latest: LiveQuote | undefined }) {
  const box = useRef<HTMLDivElement>(null);
  const series = useRef<ISeriesApi<"Area"> | null>(null);
  /** The points drawn, kept to extend with empty minutes as the clock moves on. */
  const points = useRef<LinePoint[]>([]);
  const up = useRef<boolean | undefined>(undefined);
  const prevLine = useRef<{ price: number; remove: () => void } | undefined>(undefined);
  /** Frames the view once there are points; then keeps the newest minute in view. */
  const framed = useRef(false);
  const chart = useRef<IChartApi | null>(null);
  const dayOf = useRef(0);
  /**
   * The default window: the day from its first point to the regular session's close (16:00 ET; at most two hours
   * past the newest minute), so the line grows across the chart instead of hugging its right edge; after the close,
   * up to the newest minute.
   */
  const frame = () => {
    const list = points.current;
    const c = chart.current;
    if (!c || list.length === 0) return;
    const first = list[0]!.time / 60;
    const close = (exchangeOpen(dayOf.current) + 390 * 60_000) / 60_000;
    const last = list.at(-1)!.time / 60;
    const end = Math.max(last + 5, Math.min(close, last + 120));
    c.timeScale().setVisibleLogicalRange({ from: 0, to: end - first });
    framed.current = true;
  };
  useEffect(() => {
    const time = chartTimeOptions(() => false);
    const c: IChartApi = createChart(box.current!, {
      autoSize: true,
      ...chartColors(),
      localization: time.localization,
      timeScale: {
        timeVisible: true,
        secondsVisible: false,
        rightOffset: 5,
        shiftVisibleRangeOnNewBar: false,
        ...time.timeScale,
      },
      rightPriceScale: { autoScale: true },
    });
    const s = c.addSeries(AreaSeries, { lineWidth: 2, priceLineVisible: true });
    series.current = s;
    chart.current = c;
    framed.current = false;
    points.current = [];
    up.current = undefined;
    prevLine.current = undefined;
    let cancelled = false;
    dayOf.current = exchangeDay(latest?.time ?? Date.now());
    const day = exchangeDayRange(dayOf.current);
    api<{ candles: { time: number; close: number }[] }>(
      "GET",
      `/api/v1/history?symbol=${encodeURIComponent(symbol)}&interval=1m&from=${day.start}&to=${day.end}`,
    ).then((h) => {
      if (cancelled) return;
      // Ticks that came while history loaded are already drawn: history fills in before them.
      const live = points.current.filter((p) => p.value !== undefined);
      const firstLive = live[0]?.time ?? Infinity;
      const past = h.candles.filter((k) => k.time / 1000 < firstLive);
      const merged = minuteLine([
        ...past,
        ...live.map((p) => ({ time: p.time * 1000, close: p.value! })),
      ]);
      points.current = merged;
      s.setData(merged);
      frame();
    }).catch(() => {});
    const onTheme = () => {
      c.applyOptions(chartColors());
      if (up.current !== undefined) s.applyOptions(directionColors(up.current));
    };
    globalThis.addEventListener("themechange", onTheme);
    return () => {
      cancelled = true;
      series.current = null;
      chart.current = null;
      globalThis.removeEventListener("themechange", onTheme);
      c.remove();
    };
  }, [symbol]);
  useEffect(() => {
    const s = series.current;
    if (!latest || !s || latest.symbol !== symbol) return;
    const minute = Math.floor(latest.time / 60_000);
    const list = points.current;
    const tail = list.at(-1);
    const tailMinute = tail ? tail.time / 60 : -1;
    if (minute < tailMinute) return;
    if (minute === tailMinute) {
      tail!.value = latest.price;
      s.update({ time: tail!.time, value: latest.price });
    } else {
      const added = minuteLine([
        ...(tail?.value !== undefined ? [{ time: tail.time * 1000, close: tail.value }] : []),
        { time: latest.time, close: latest.price },
      ]).slice(tail?.value !== undefined ? 1 : 0);
      for (const p of added) {
        list.push(p);
        s.update(p);
      }
      // Past the framed window's right edge: follow the newest minute.
      const c = chart.current;
      const range = c?.timeScale().getVisibleLogicalRange();
      if (!framed.current) frame();
      else if (c && range && list.length - 1 > range.to - 2) c.timeScale().scrollToRealTime();
    }
    const rising = isUp(latest);
    if (rising !== up.current) {
      up.current = rising;
      s.applyOptions(directionColors(rising));
    }
    if (latest.previousClose > 0 && prevLine.current?.price !== latest.previousClose) {
      prevLine.current?.remove();
      const line = s.createPriceLine({
        price: latest.previousClose,
        color: cssVar("--muted", "#8a94a6"),
        lineWidth: 1,
        lineStyle: 2,
        axisLabelVisible: true,
        title: "prev close",
      });
      prevLine.current = { price: latest.previousClose, remove: () => s.removePriceLine(line) };
    }
  }, [latest]);
  return (
    <div
      class="chart"
      ref={box}
      role="img"
      aria-label={`live price chart of ${symbol} over today's session`}
      data-direction={latest ? (isUp(latest) ? "up" : "down") : undefined}
    />
  );
}

const CONNECTION_LABEL: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
};

/** Marks kept at most; older ones are cleared, so a page left open for days does not grow its timeline. */
const MAX_MARKS = 5_000;
let marks = 0;

/**
 * Records, for each tick's server time, how long it took to reach the screen: a `bb:tick-shown` performance mark
 * whose detail is `{ tickTime, ms }`. Preact runs effects after the browser painted the render, so the time here is
 * when the tile showed it.
 */
function markShown(tickTimes: number[]): void {
  const now = Date.now();
  if ((marks += tickTimes.length) > MAX_MARKS) {
    performance.clearMarks("bb:tick-shown");
    marks = tickTimes.length;
  }
  for (const t of tickTimes) performance.mark("bb:tick-shown", { detail: { tickTime: t, ms: now - t } });
}

/** The real-time Monitor: watchlist tiles, market state, connection state and a live chart of the selected tile. */
export default function Monitor({ symbols, quotes, feed: initialFeed }: MonitorProps) {
  const [feed, setFeed] = useState(initialFeed);
  const [lastBatchAt, setLastBatchAt] = useState(0);
  const [tiles, setTiles] = useState<Record<string, TileState>>(() =>
    Object.fromEntries(quotes.map((q) => [q.symbol, { quote: q, seenAt: q.time, flip: 0 as const }]))
  );
  const [conn, setConn] = useState<{ state: LiveState; retryAt?: number }>({ state: "connecting" });
  const [now, setNow] = useState(() => Date.now());
  const [selected, setSelected] = useState(symbols[0] ?? "");
  // Server times of the quotes in the render being committed: once it is on screen, each becomes a performance mark
  // of its event-to-pixel time.
  const shown = useRef<number[]>([]);
  useEffect(() => {
    const times = shown.current;
    if (times.length === 0) return;
    shown.current = [];
    markShown(times);
  }, [tiles]);
  useEffect(() => {
    const live = connectLive(symbols, {
      onQuotes(batch, snapshot) {
        const at = Date.now();
        if (!snapshot) { for (const q of batch) shown.current.push(q.time); }
        setTiles((prev) => {
          const next = { ...prev };
          for (const q of batch) {
            const old = next[q.symbol];
            const moved = old?.quote && q.price !== old.quote.price;
            next[q.symbol] = {
              quote: q,
              seenAt: snapshot ? q.time : at,
              flash: moved ? (q.price > old.quote!.price ? "up" : "down") : old?.flash,
              flip: moved ? (old.flip === 0 ? 1 : 0) : old?.flip ?? 0,
            };
          }
          return next;
        });
        if (!snapshot) setLastBatchAt(at);
        if (!snapshot && document.body.dataset.live === undefined) {
          document.body.dataset.live = String(Math.round(performance.now()));
        }
      },
      onState(state, retryInMs) {
        setConn({ state, ...(retryInMs === undefined ? {} : { retryAt: Date.now() + retryInMs }) });
      },
    });
    const clock = setInterval(() => setNow(Date.now()), 1_000);
    const offZone = onTimeZoneChange(() => setNow(Date.now()));
    // The feed's state changes on the server: ask health now and then, only when this process runs a feed.
    const poll = initialFeed
      ? setInterval(() => {
        api<{ feed?: Omit<FeedView, "name"> }>("GET", "/api/v1/health")
          .then((h) => h.feed && setFeed({ name: initialFeed.name, ...h.feed }))
          .catch(() => {});
      }, 10_000)
      : undefined;
    return () => {
      live.close();
      offZone();
      clearInterval(clock);
      clearInterval(poll);
    };
  }, [symbols.join(",")]);
  const market = useMemo(() => {
    const latest = Object.values(tiles).map((t) => t.quote).filter((q) => q !== undefined)
      .sort((a, b) => b.time - a.time)[0];
    return latest ? MARKET_LABEL[latest.marketHours] ?? latest.marketHours : "Market state unknown";
  }, [tiles]);
  const retryIn = conn.retryAt ? Math.max(0, Math.ceil((conn.retryAt - now) / 1000)) : undefined;
  const banner = feedBanner(feed);
  const flowing = lastBatchAt > 0 && now - lastBatchAt < 30_000;
  return (
    <section class="monitor">
      {banner && (
        <p
          class={`banner banner-${banner.tone}`}
          role={banner.tone === "warn" ? "alert" : "note"}
          data-testid="feed-banner"
        >
          {banner.text}
        </p>
      )}
      <div class="monitor-bar">
        <span
          class={`badge prices ${flowing ? "conn-live" : ""}`}
          data-testid="prices"
          title="whether prices reached this page in the last 30 seconds"
        >
          {flowing ? "Prices flowing" : "No prices yet"}
        </span>
        <span class="badge market" data-testid="market">{market}</span>
        <span
          class={`badge conn conn-${conn.state}`}
          role="status"
          data-testid="connection"
          title="the connection between this page and Breadboard"
        >
          {CONNECTION_LABEL[conn.state]}
          {conn.state !== "live" && retryIn !== undefined && retryIn > 0 ? ` in ${retryIn}s` : ""}
        </span>
      </div>
      {symbols.length === 0
        ? (
          <p class="empty">
            Your watchlist is empty. Add symbols in <a href="/settings">Settings</a>.
          </p>
        )
        : (
          <div class="tiles">
            {symbols.map((s) => (
              <Tile
                key={s}
                symbol={s}
                t={tiles[s]}
                now={now}
                selected={s === selected}
                onSelect={() => setSelected(s)}
              />
            ))}
          </div>
        )}
      {selected && (
        <div class="panel">
          <h2 class="panel-title">
            {selected} <span class="muted">live</span>
          </h2>
          <LiveChart symbol={selected} latest={tiles[selected]?.quote} />
        </div>
      )}
    </section>
  );
}
