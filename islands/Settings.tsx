import { useEffect, useRef, useState } from "preact/hooks";
import { api, fieldErrors } from "./lib/api.ts";
import { SYMBOL_PATTERN } from "../schema/symbol_pattern.ts";
import { setTheme } from "./lib/theme.ts";
import { setTimeZoneSetting, type TimeZoneSetting, timeZoneSetting } from "./lib/tz.ts";

/** A watchlist as the API returns it. */
export interface WatchlistRow {
  id: string;
  name: string;
  symbols: string[];
}

/** A channel as the API lists it. */
export interface ChannelRow {
  id: string;
  kind: "webhook" | "email" | "push";
  name?: string;
  url?: string;
  address?: string;
  endpoint?: string;
  secret?: string;
}

/** Props the server renders the page with. */
export interface SettingsProps {
  watchlist: WatchlistRow | null;
  /** What the Monitor follows while the watchlist is empty (SYMBOLS). */
  defaultSymbols: string[];
  channels: ChannelRow[];
  available: { webhook: boolean; email: boolean; push: boolean; nats: boolean };
  vapidPublicKey: string;
  theme: "dark" | "light";
}

interface Hit {
  symbol: string;
  name: string;
  exchange: string;
  type: string;
}

function WatchlistEditor({ initial, defaults }: { initial: WatchlistRow | null; defaults: string[] }) {
  const [list, setList] = useState<WatchlistRow | null>(initial);
  const [q, setQ] = useState("");
  const [hits, setHits] = useState<{ results: Hit[]; source?: string; error?: string }>({ results: [] });
  const [error, setError] = useState("");
  const seq = useRef(0);
  useEffect(() => {
    const query = q.trim();
    if (query.length === 0) return setHits({ results: [] });
    const mine = ++seq.current;
    const t = setTimeout(async () => {
      try {
        const r = await api<{ results: Hit[]; source: string }>(
          "GET",
          `/api/v1/symbols/search?q=${encodeURIComponent(query)}`,
        );
        if (mine === seq.current) setHits(r);
      } catch (err) {
        if (mine === seq.current) setHits({ results: [], error: Object.values(fieldErrors(err)).join("; ") });
      }
    }, 250);
    return () => clearTimeout(t);
  }, [q]);
  const save = async (symbols: string[]) => {
    setError("");
    try {
      const next = list
        ? await api<WatchlistRow>("PUT", `/api/v1/watchlists/${list.id}`, { name: list.name, symbols })
        : await api<WatchlistRow>("POST", "/api/v1/watchlists", { name: "My watchlist", symbols });
      setList(next);
    } catch (err) {
      setError(Object.values(fieldErrors(err)).join("; "));
    }
  };
  const symbols = list?.symbols ?? [];
  // The first symbol a user adds starts the list from what the Monitor already follows, so nothing disappears.
  const addSymbol = (s: string) => {
    setQ("");
    void save(symbols.length === 0 ? [...defaults.filter((d) => d !== s), s] : [...symbols, s]);
  };
  const typed = q.trim().toUpperCase();
  const offline = hits.source === "local" || hits.error !== undefined;
  const unverified = offline && SYMBOL_PATTERN.test(typed) && !hits.results.some((h) => h.symbol === typed) &&
    !symbols.includes(typed);
  const move = (i: number, by: number) => {
    const next = [...symbols];
    const [s] = next.splice(i, 1);
    next.splice(i + by, 0, s!);
    void save(next);
  };
  return (
    <section class="panel">
      <h2 class="panel-title">Watchlist</h2>
      <label class="field">
        <span>Add a symbol (ticker or company name)</span>
        <input
          type="search"
          name="symbol-search"
          value={q}
          placeholder="e.g. Apple or AAPL"
          autocomplete="off"
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
      </label>
      {hits.error && <p class="error" role="alert">{hits.error}</p>}
      <ul class="hits" data-testid="search-results">
        {hits.results.map((h) => (
          <li key={h.symbol}>
            <button
              type="button"
              class="hit"
              disabled={symbols.includes(h.symbol)}
              onClick={() => addSymbol(h.symbol)}
            >
              <strong>{h.symbol}</strong> <span>{h.name}</span> <span class="muted">{h.exchange}</span>
            </button>
          </li>
        ))}
        {hits.source === "local" && <li class="muted">Search is offline; showing symbols tracked here.</li>}
        {unverified && (
          <li>
            <button type="button" class="hit" data-testid="add-unverified" onClick={() => addSymbol(typed)}>
              <strong>{typed}</strong> <span>add anyway</span>{" "}
              <span class="muted">unverified: search is offline, so the symbol is checked only for its form</span>
            </button>
          </li>
        )}
      </ul>
      {error && <p class="error" role="alert">{error}</p>}
      <ol class="watchlist" data-testid="watchlist">
        {symbols.length === 0 && (
          <li class="muted" data-testid="watchlist-defaults">
            Empty: the Monitor follows the default symbols ({defaults.join(", ")}). The first symbol you add starts your
            list from them; remove any you do not want.
          </li>
        )}
        {symbols.map((s, i) => (
          <li key={s}>
            <strong class="num">{s}</strong>
            <span class="row-actions">
              <button type="button" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`move ${s} up`}>
                ↑
              </button>
              <button
                type="button"
                disabled={i === symbols.length - 1}
                onClick={() => move(i, 1)}
                aria-label={`move ${s} down`}
              >
                ↓
              </button>
              <button type="button" onClick={() => save(symbols.filter((x) => x !== s))} aria-label={`remove ${s}`}>
                ✕
              </button>
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function describe(c: ChannelRow): string {
  return c.kind === "webhook" ? c.url! : c.kind === "email" ? c.address! : new URL(c.endpoint!).host;
}

function Channels(
  { initial, available, vapidPublicKey }: {
    initial: ChannelRow[];
    available: SettingsProps["available"];
    vapidPublicKey: string;
  },
) {
  const [channels, setChannels] = useState(initial);
  const [url, setUrl] = useState("");
  const [address, setAddress] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState("");
  const add = async (body: Record<string, unknown>, field: string) => {
    setErrors({});
    setNote("");
    try {
      const ch = await api<ChannelRow>("POST", "/api/v1/channels", body);
      setChannels((c) => [...c.filter((x) => x.id !== ch.id), ch]);
      if (ch.secret) setNote(`Webhook signing secret (shown once): ${ch.secret}`);
      if (field === "url") setUrl("");
      if (field === "address") setAddress("");
    } catch (err) {
      const f = fieldErrors(err);
      setErrors({ [field]: Object.values(f).join("; ") });
    }
  };
  const enablePush = async () => {
    setErrors({});
    try {
      if (!("serviceWorker" in navigator) || !("PushManager" in globalThis)) {
        throw new Error("this browser does not support web push");
      }
      const reg = await navigator.serviceWorker.register("/sw.js");
      const sub = await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: Uint8Array.fromBase64(vapidPublicKey, { alphabet: "base64url" }),
      });
      await add({ kind: "push", name: navigator.userAgent.slice(0, 60), subscription: sub.toJSON() }, "push");
    } catch (err) {
      setErrors({ push: err instanceof Error ? err.message : String(err) });
    }
  };
  return (
    <section class="panel">
      <h2 class="panel-title">Notification channels</h2>
      <ul class="channels" data-testid="channels">
        {channels.length === 0 && <li class="muted">No channels: alerts show here and in the browser only.</li>}
        {channels.map((c) => (
          <li key={c.id}>
            <span class="badge">{c.kind}</span> <span class="ellipsis">{describe(c)}</span>
            <span class="row-actions">
              <button
                type="button"
                onClick={() =>
                  api("POST", `/api/v1/channels/${c.id}/test`).then(() => setNote(`Test queued to ${describe(c)}`))}
              >
                Test
              </button>
              <button
                type="button"
                aria-label={`remove channel ${describe(c)}`}
                onClick={() =>
                  api("DELETE", `/api/v1/channels/${c.id}`).then(() =>
                    setChannels((l) => l.filter((x) => x.id !== c.id))
                  )}
              >
                ✕
              </button>
            </span>
          </li>
        ))}
      </ul>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add({ kind: "webhook", url: url.trim() }, "url");
        }}
      >
        <label class={`field ${errors.url ? "invalid" : ""}`}>
          <span>Webhook URL</span>
          <input
            type="url"
            name="webhook-url"
            value={url}
            placeholder="https://hooks.example.com/breadboard"
            onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
          />
          <span class="field-error" role={errors.url ? "alert" : undefined}>{errors.url ?? ""}</span>
        </label>
        <button type="submit">Add webhook</button>
      </form>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add({ kind: "email", address: address.trim() }, "address");
        }}
      >
        <label class={`field ${errors.address ? "invalid" : ""}`}>
          <span>Email{available.email ? "" : " (this server has no mail server configured)"}</span>
          <input
            type="email"
            name="email"
            value={address}
            disabled={!available.email}
            placeholder="you@example.com"
            onInput={(e) => setAddress((e.target as HTMLInputElement).value)}
          />
          <span class="field-error" role={errors.address ? "alert" : undefined}>{errors.address ?? ""}</span>
        </label>
        <button type="submit" disabled={!available.email}>Add email</button>
      </form>
      <div class="inline-form">
        <button type="button" onClick={enablePush}>Enable push on this browser</button>
        <span class="field-error" role={errors.push ? "alert" : undefined}>{errors.push ?? ""}</span>
      </div>
      {note && <p class="ok ellipsis" role="status">{note}</p>}
      {available.nats && <p class="muted">Every alert is also published to NATS JetStream.</p>}
    </section>
  );
}

/** A row of buttons of which one is on (a radio group). */
function Segmented<T extends string>(
  props: { label: string; value: T; options: [T, string][]; onPick: (v: T) => void },
) {
  return (
    <div class="segmented" role="radiogroup" aria-label={props.label}>
      {props.options.map(([v, text]) => (
        <button
          key={v}
          type="button"
          role="radio"
          aria-checked={props.value === v}
          class={props.value === v ? "on" : ""}
          onClick={() => props.onPick(v)}
        >
          {text}
        </button>
      ))}
    </div>
  );
}

/** Settings & Watchlist: watchlist by search, notification channels, theme. */
export default function Settings(props: SettingsProps) {
  const [theme, set] = useState(props.theme);
  // Read after hydration: the server cannot know this browser's choice.
  const [zone, setZone] = useState<TimeZoneSetting>("exchange");
  useEffect(() => setZone(timeZoneSetting()), []);
  return (
    <div class="settings-grid">
      <WatchlistEditor initial={props.watchlist} defaults={props.defaultSymbols} />
      <Channels initial={props.channels} available={props.available} vapidPublicKey={props.vapidPublicKey} />
      <section class="panel">
        <h2 class="panel-title">Theme</h2>
        <Segmented
          label="Theme"
          value={theme}
          options={[["dark", "Dark"], ["light", "Light"]]}
          onPick={(t) => {
            setTheme(t);
            set(t);
          }}
        />
      </section>
      <section class="panel">
        <h2 class="panel-title">Time zone</h2>
        <p class="muted">Charts, tables and alerts show times in this zone, labelled.</p>
        <Segmented
          label="Time zone"
          value={zone}
          options={[["exchange", "Exchange (New York, ET)"], ["local", "This browser's time"]]}
          onPick={(z) => {
            setTimeZoneSetting(z);
            setZone(z);
          }}
        />
      </section>
    </div>
  );
}
