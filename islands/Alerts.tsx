import type { z } from "zod";
import type { alertListSchema } from "../schema/api.ts";
import { RULE_BOUNDS } from "../schema/rule_bounds.ts";
import { SYMBOL_PATTERN } from "../schema/symbol_pattern.ts";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, fieldErrors } from "./lib/api.ts";
import { fmtPercent, fmtPrice, fmtTime } from "./lib/format.ts";
import { onTimeZoneChange, zoneLabel } from "./lib/tz.ts";
import { connectLive, type LiveState } from "./lib/live.ts";

/** An alert as the API lists it. */
export type AlertRow = z.infer<typeof alertListSchema>["alerts"][number];

/** A stored rule (only the fields the editor shows). */
export interface RuleRow {
  id: string;
  symbol: string;
  kind: string;
  price?: number;
  percent?: number;
  direction?: string;
  window?: string;
  factor?: number;
  zScore?: number;
  cooldownMs: number;
  enabled: boolean;
  trigger?: string;
  ifAlreadyTrue?: string;
  muteOutsideRegular?: boolean;
  expiresAt?: number;
}

/** Props the server renders the page with. */
export interface AlertsProps {
  symbols: string[];
  rules: RuleRow[];
  alerts: AlertRow[];
}

/** Whether an alert belongs in the history table under `f` (the fields of the filter form; dates are local days). */
export function matches(f: { symbol: string; rule: string; since: string; until: string }, a: AlertRow): boolean {
  if (f.symbol.trim() && a.symbol !== f.symbol.trim().toUpperCase()) return false;
  if (f.rule && a.rule !== f.rule) return false;
  if (f.since && a.time < Date.parse(`${f.since}T00:00:00`)) return false;
  if (f.until && a.time > Date.parse(`${f.until}T23:59:59`)) return false;
  return true;
}

const KINDS: Record<string, string> = {
  price_above: "Price rises above",
  price_below: "Price falls below",
  pct_change: "Moves % within a window",
  day_change: "Day change reaches %",
  volume_spike: "Volume spike (× average)",
  anomaly: "Unusual move (z-score)",
};

/** What the rule form holds (strings, as typed). */
interface Draft {
  symbol: string;
  kind: string;
  price: string;
  percent: string;
  direction: string;
  window: string;
  factor: string;
  zScore: string;
  cooldownMin: string;
  muteOutsideRegular: boolean;
  ifAlreadyTrue: string;
  trigger: string;
  /** `YYYY-MM-DDTHH:MM` in the browser's time, as a datetime-local input holds it; empty: never expires. */
  expires: string;
}

const EMPTY: Draft = {
  symbol: "",
  kind: "price_below",
  price: "",
  percent: "",
  direction: "drop",
  window: "15m",
  factor: "3",
  zScore: "4",
  cooldownMin: "15",
  muteOutsideRegular: false,
  ifAlreadyTrue: "wait",
  trigger: "every",
  expires: "",
};

/** TradingView's trigger modes, as the rule's `trigger` names them. */
const TRIGGER_LABELS: Record<string, string> = {
  every: "Every time",
  once: "Only once",
  bar_close: "Once per bar close (1 min)",
};

/** A datetime-local value (browser time) of epoch ms `t`. */
function localInput(t: number): string {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The form's fields for an existing rule, to edit it. */
export function draftOf(r: RuleRow): Draft {
  const str = (n: number | undefined, fallback: string) => n === undefined ? fallback : String(n);
  return {
    symbol: r.symbol,
    kind: r.kind,
    price: str(r.price, ""),
    percent: str(r.percent, ""),
    direction: r.direction ?? EMPTY.direction,
    window: r.window ?? EMPTY.window,
    factor: str(r.factor, EMPTY.factor),
    zScore: str(r.zScore, EMPTY.zScore),
    cooldownMin: String(r.cooldownMs / 60_000),
    muteOutsideRegular: r.muteOutsideRegular ?? false,
    ifAlreadyTrue: r.ifAlreadyTrue ?? "wait",
    trigger: r.trigger ?? "every",
    expires: r.expiresAt === undefined ? "" : localInput(r.expiresAt),
  };
}

/** Checks a draft in the browser and builds the request body; errors by field name. */
export function ruleBody(d: Draft): { body?: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const symbol = d.symbol.trim().toUpperCase();
  if (!SYMBOL_PATTERN.test(symbol)) errors.symbol = "Enter a ticker such as AAPL or BRK.B";
  const num = (field: keyof Draft, check: (n: number) => string | undefined) => {
    const raw = String(d[field]).trim();
    const n = Number(raw);
    const msg = raw === "" || !Number.isFinite(n) ? "Enter a number" : check(n);
    if (msg) errors[field] = msg;
    return n;
  };
  const maxCooldownMin = RULE_BOUNDS.cooldownMs.max / 60_000;
  const cooldown = num(
    "cooldownMin",
    (n) => n < 0 || n > maxCooldownMin ? `0 to ${maxCooldownMin} minutes` : undefined,
  );
  const body: Record<string, unknown> = {
    symbol,
    kind: d.kind,
    cooldownMs: Math.round(cooldown * 60_000),
    muteOutsideRegular: d.muteOutsideRegular,
    trigger: d.trigger in TRIGGER_LABELS ? d.trigger : "every",
  };
  if (d.expires) {
    const at = Date.parse(d.expires);
    if (!Number.isFinite(at)) errors.expires = "Enter a date and time";
    else if (at <= Date.now()) errors.expires = "Must be in the future";
    else body.expiresAt = at;
  }
  if (d.kind === "price_above" || d.kind === "price_below") {
    body.price = num("price", (n) => n > 0 ? undefined : "Must be above 0");
    body.ifAlreadyTrue = d.ifAlreadyTrue === "fire" ? "fire" : "wait";
  } else if (d.kind === "pct_change") {
    const pct = RULE_BOUNDS.pctChange.max;
    body.percent = num("percent", (n) => n > 0 && n <= pct ? undefined : `Between 0 and ${pct}`);
    body.direction = d.direction;
    body.window = d.window;
  } else if (d.kind === "day_change") {
    const { min, max } = RULE_BOUNDS.dayChange;
    body.percent = num(
      "percent",
      (n) => n === 0 || n < min || n > max ? `Between ${min} and ${max}, not 0` : undefined,
    );
  } else if (d.kind === "volume_spike") {
    const { min, max } = RULE_BOUNDS.volumeSpike;
    body.factor = num("factor", (n) => n >= min && n <= max ? undefined : `Between ${min} and ${max}`);
  } else if (d.kind === "anomaly") {
    const { min, max } = RULE_BOUNDS.anomaly;
    body.zScore = num("zScore", (n) => n >= min && n <= max ? undefined : `Between ${min} and ${max}`);
  }
  return Object.keys(errors).length > 0 ? { errors } : { body, errors };
}

function describe(r: RuleRow): string {
  switch (r.kind) {
    case "price_above":
      return `above ${r.price}`;
    case "price_below":
      return `below ${r.price}`;
    case "pct_change":
      return `${r.direction} ${r.percent}% in ${r.window}`;
    case "day_change":
      return `day change ${r.percent}%`;
    case "volume_spike":
      return `volume ×${r.factor}`;
    default:
      return `z-score ${r.zScore}`;
  }
}

function Field(
  { label, name, error, children }: { label: string; name: string; error?: string; children: preact.ComponentChildren },
) {
  return (
    <label class={`field ${error ? "invalid" : ""}`}>
      <span>{label}</span>
      {children}
      <span class="field-error" id={`${name}-error`} role={error ? "alert" : undefined}>{error ?? ""}</span>
    </label>
  );
}

/** Alerts & Notifications: live feed, history with filters, and the rule editor. */
export default function Alerts(props: AlertsProps) {
  const [live, setLive] = useState<AlertRow[]>([]);
  const [conn, setConn] = useState<LiveState>("connecting");
  const [perm, setPerm] = useState<string>("default");
  const [rules, setRules] = useState(props.rules);
  const rulesRef = useRef(rules);
  rulesRef.current = rules;
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState("");
  /** The id of the rule the form edits; undefined while it makes a new one. */
  const [editing, setEditing] = useState<string | undefined>();
  const [filter, setFilter] = useState({ symbol: "", rule: "", since: "", until: "" });
  const [past, setPast] = useState<{ alerts: AlertRow[]; next?: string; error?: string }>({ alerts: props.alerts });
  // The filter the history table shows (the form's, as of the last Filter): live alerts that match it join the table.
  const applied = useRef({ symbol: "", rule: "", since: "", until: "" });
  const [, setZoneTick] = useState(0);

  useEffect(() => {
    setPerm(typeof Notification === "undefined" ? "unsupported" : Notification.permission);
    const c = connectLive(props.symbols, {
      onQuotes() {},
      onAlert(a) {
        const row: AlertRow = { ...a, rule: a.ruleId };
        // A once-only rule pauses itself (on the server, before its alert goes out) when it fires: show it paused,
        // then take the stored rules. So too for a rule this page has not listed yet (its save still answering).
        const known = rulesRef.current.find((r) => r.id === a.ruleId);
        if (known?.trigger === "once" || (!known && a.ruleId !== "default-day-change")) {
          if (known) setRules((list) => list.map((r) => r.id === a.ruleId ? { ...r, enabled: false } : r));
          api<{ rules: RuleRow[] }>("GET", "/api/v1/rules").then((r) => setRules(r.rules)).catch(() => {});
        }
        setLive((prev) => prev.some((x) => x.id === a.id) ? prev : [row, ...prev].slice(0, 200));
        if (matches(applied.current, row)) {
          setPast((p) => p.alerts.some((x) => x.id === row.id) ? p : { ...p, alerts: [row, ...p.alerts] });
        }
        if (typeof Notification !== "undefined" && Notification.permission === "granted") {
          new Notification(`${a.symbol} alert`, { body: a.message, tag: a.id });
        }
      },
      onState: (s) => setConn(s),
    });
    const offZone = onTimeZoneChange(() => setZoneTick((n) => n + 1));
    return () => {
      c.close();
      offZone();
    };
  }, []);

  const search = async (cursor?: string) => {
    if (!cursor) applied.current = { ...filter };
    const q = new URLSearchParams({ limit: "50" });
    if (filter.symbol.trim()) q.set("symbol", filter.symbol.trim().toUpperCase());
    if (filter.rule) q.set("rule", filter.rule);
    if (filter.since) q.set("since", String(Date.parse(`${filter.since}T00:00:00`)));
    if (filter.until) q.set("until", String(Date.parse(`${filter.until}T23:59:59`)));
    if (cursor) q.set("cursor", cursor);
    try {
      const r = await api<{ alerts: AlertRow[]; nextCursor?: string }>("GET", `/api/v1/alerts?${q}`);
      setPast((p) => ({
        alerts: cursor ? [...p.alerts, ...r.alerts] : r.alerts,
        ...(r.nextCursor ? { next: r.nextCursor } : {}),
      }));
    } catch (err) {
      setPast({ alerts: [], error: Object.values(fieldErrors(err)).join("; ") });
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setSaved("");
    const { body, errors: local } = ruleBody(draft);
    setErrors(local);
    if (!body) return;
    try {
      const old = editing ? rules.find((r) => r.id === editing) : undefined;
      const rule = old
        ? await api<RuleRow>("PUT", `/api/v1/rules/${encodeURIComponent(old.id)}`, { ...body, enabled: old.enabled })
        : await api<RuleRow>("POST", "/api/v1/rules", body);
      // A new rule may be listed already, fetched when its first alert came before this answer: keep that copy.
      setRules((r) =>
        old ? r.map((x) => x.id === rule.id ? rule : x) : r.some((x) => x.id === rule.id) ? r : [...r, rule]
      );
      setDraft({ ...EMPTY, kind: draft.kind });
      setEditing(undefined);
      setSaved(`Rule ${old ? "updated" : "saved"}: ${rule.symbol} ${describe(rule)}`);
    } catch (err) {
      const f = fieldErrors(err);
      // Server paths name body fields; anything else shows under the form.
      const mapped: Record<string, string> = {};
      for (const [k, v] of Object.entries(f)) mapped[k === "cooldownMs" ? "cooldownMin" : k in EMPTY ? k : ""] = v;
      setErrors(mapped);
    }
  };
  const remove = async (id: string) => {
    await api("DELETE", `/api/v1/rules/${encodeURIComponent(id)}`);
    setRules((r) => r.filter((x) => x.id !== id));
    if (editing === id) cancelEdit();
  };
  /** Pauses or resumes a rule: the stored rule with `enabled` flipped (a resumed rule starts afresh). */
  const toggle = async (r: RuleRow) => {
    // The server keeps the rule's id and owner and stamps the save itself: the stored rule goes back as it is.
    const rule = await api<RuleRow>("PUT", `/api/v1/rules/${encodeURIComponent(r.id)}`, { ...r, enabled: !r.enabled });
    setRules((list) => list.map((x) => x.id === rule.id ? rule : x));
  };
  const edit = (r: RuleRow) => {
    setEditing(r.id);
    setDraft(draftOf(r));
    setErrors({});
    setSaved("");
  };
  const cancelEdit = () => {
    setEditing(undefined);
    setDraft(EMPTY);
    setErrors({});
  };
  const set = (k: keyof Draft) => (e: Event) => {
    const t = e.target as HTMLInputElement;
    setDraft({ ...draft, [k]: t.type === "checkbox" ? t.checked : t.value });
  };
  const input = (k: keyof Draft, attrs: Record<string, unknown> = {}) => (
    <input
      name={k}
      value={String(draft[k])}
      onInput={set(k)}
      aria-invalid={errors[k] ? true : undefined}
      aria-describedby={`${k}-error`}
      {...attrs}
    />
  );

  return (
    <div class="alerts-grid">
      <section class="panel">
        <h2 class="panel-title">
          Live alerts <span class={`badge conn conn-${conn}`}>{conn}</span>
        </h2>
        {perm === "default" && (
          <button type="button" onClick={() => Notification.requestPermission().then(setPerm)}>
            Enable browser notifications
          </button>
        )}
        {perm === "denied" && <p class="muted">Browser notifications are blocked for this site.</p>}
        <ul class="feed" data-testid="live-feed" aria-live="polite">
          {live.length === 0 && <li class="muted">New alerts appear here as they happen.</li>}
          {live.map((a) => (
            <li key={a.id} class="feed-item new">
              <span class="num muted">{fmtTime(a.time)}</span> <strong>{a.symbol}</strong>
              {a.message.startsWith(`${a.symbol} `) ? a.message.slice(a.symbol.length) : ` ${a.message}`}
            </li>
          ))}
        </ul>
      </section>

      <section class="panel">
        <h2 class="panel-title">{editing ? "Edit rule" : "New rule"}</h2>
        <form class="rule-form" onSubmit={save} noValidate>
          <Field label="Symbol" name="symbol" error={errors.symbol}>
            {input("symbol", { placeholder: "AAPL", list: "rule-symbols", autocomplete: "off" })}
            <datalist id="rule-symbols">{props.symbols.map((s) => <option key={s} value={s} />)}</datalist>
          </Field>
          <Field label="When" name="kind" error={errors.kind}>
            <select name="kind" value={draft.kind} onChange={set("kind")}>
              {Object.entries(KINDS).map(([k, l]) => <option key={k} value={k}>{l}</option>)}
            </select>
          </Field>
          {(draft.kind === "price_above" || draft.kind === "price_below") && (
            <>
              <Field label="Price" name="price" error={errors.price}>
                {input("price", { inputmode: "decimal", placeholder: "190.00" })}
              </Field>
              <Field label="If already past the price" name="ifAlreadyTrue">
                <select name="ifAlreadyTrue" value={draft.ifAlreadyTrue} onChange={set("ifAlreadyTrue")}>
                  <option value="wait">Wait for the next crossing</option>
                  <option value="fire">Alert at once</option>
                </select>
              </Field>
            </>
          )}
          {draft.kind === "pct_change" && (
            <>
              <Field label="Direction" name="direction" error={errors.direction}>
                <select name="direction" value={draft.direction} onChange={set("direction")}>
                  <option value="drop">drops</option>
                  <option value="rise">rises</option>
                </select>
              </Field>
              <Field label="Percent" name="percent" error={errors.percent}>
                {input("percent", { inputmode: "decimal", placeholder: "2" })}
              </Field>
              <Field label="Window" name="window" error={errors.window}>
                <select name="window" value={draft.window} onChange={set("window")}>
                  {["1m", "5m", "15m", "60m"].map((w) => <option key={w} value={w}>{w}</option>)}
                </select>
              </Field>
            </>
          )}
          {draft.kind === "day_change" && (
            <Field label="Day change %" name="percent" error={errors.percent}>
              {input("percent", { inputmode: "decimal", placeholder: "-5" })}
            </Field>
          )}
          {draft.kind === "volume_spike" && (
            <Field label="Factor" name="factor" error={errors.factor}>
              {input("factor", { inputmode: "decimal" })}
            </Field>
          )}
          {draft.kind === "anomaly" && (
            <Field label="Z-score" name="zScore" error={errors.zScore}>
              {input("zScore", { inputmode: "decimal" })}
            </Field>
          )}
          <Field label="Trigger" name="trigger">
            <select name="trigger" value={draft.trigger} onChange={set("trigger")}>
              {Object.entries(TRIGGER_LABELS).map(([k, l]) => <option key={k} value={k}>{l}</option>)}
            </select>
          </Field>
          {draft.trigger !== "once" && (
            <Field label="Quiet after firing (min)" name="cooldownMin" error={errors.cooldownMin}>
              {input("cooldownMin", { inputmode: "numeric" })}
            </Field>
          )}
          <Field label="Expires (your time, optional)" name="expires" error={errors.expires}>
            {input("expires", { type: "datetime-local" })}
          </Field>
          <label class="check">
            <input
              type="checkbox"
              name="muteOutsideRegular"
              checked={draft.muteOutsideRegular}
              onChange={set("muteOutsideRegular")}
            />{" "}
            Only during regular hours
          </label>
          <button type="submit">{editing ? "Save changes" : "Add rule"}</button>
          {editing && <button type="button" onClick={cancelEdit}>Cancel</button>}
          {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
          {saved && <p class="ok" role="status">{saved}</p>}
        </form>
        <h3>Your rules</h3>
        <ul class="rules" data-testid="rules">
          {rules.length === 0 && <li class="muted">No rules yet. The built-in day-drop alert still applies.</li>}
          {rules.map((r) => {
            const expired = r.expiresAt !== undefined && r.expiresAt <= Date.now();
            return (
              <li key={r.id} data-rule={r.id} class={r.enabled && !expired ? "" : "paused"}>
                <strong>{r.symbol}</strong> {describe(r)}{" "}
                <span class="muted">
                  · {TRIGGER_LABELS[r.trigger ?? "every"]}
                  {r.expiresAt !== undefined && ` · ${expired ? "expired" : "until"} ${fmtTime(r.expiresAt)}`}
                </span>{" "}
                {!r.enabled && <span class="badge" data-testid="paused">paused</span>}{" "}
                <button
                  type="button"
                  class="link"
                  onClick={() => edit(r)}
                  aria-label={`edit rule ${r.symbol} ${describe(r)}`}
                >
                  edit
                </button>
                <button
                  type="button"
                  class="link"
                  onClick={() => toggle(r)}
                  aria-label={`${r.enabled ? "pause" : "resume"} rule ${r.symbol} ${describe(r)}`}
                >
                  {r.enabled ? "pause" : "resume"}
                </button>
                <button type="button" class="link" onClick={() => remove(r.id)} aria-label={`delete rule ${r.id}`}>
                  delete
                </button>
              </li>
            );
          })}
        </ul>
      </section>

      <section class="panel wide">
        <h2 class="panel-title">Alert history</h2>
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            void search();
          }}
        >
          <label>
            Symbol{" "}
            <input
              name="f-symbol"
              value={filter.symbol}
              size={8}
              onInput={(e) => setFilter({ ...filter, symbol: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Rule{" "}
            <select
              name="f-rule"
              value={filter.rule}
              onChange={(e) => setFilter({ ...filter, rule: (e.target as HTMLSelectElement).value })}
            >
              <option value="">any</option>
              <option value="default-day-change">built-in day drop</option>
              {rules.map((r) => <option key={r.id} value={r.id}>{r.symbol} {describe(r)}</option>)}
            </select>
          </label>
          <label>
            Since{" "}
            <input
              type="date"
              value={filter.since}
              onInput={(e) => setFilter({ ...filter, since: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Until{" "}
            <input
              type="date"
              value={filter.until}
              onInput={(e) => setFilter({ ...filter, until: (e.target as HTMLInputElement).value })}
            />
          </label>
          <button type="submit">Filter</button>
        </form>
        {past.error && <p class="error" role="alert">{past.error}</p>}
        <table class="table num" data-testid="history">
          <thead>
            <tr>
              <th>Time ({zoneLabel()})</th>
              <th>Symbol</th>
              <th>Alert</th>
              <th class="r">Price</th>
              <th class="r">Day</th>
            </tr>
          </thead>
          <tbody>
            {past.alerts.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">No alerts match.</td>
              </tr>
            )}
            {past.alerts.map((a) => (
              <tr key={a.id}>
                <td>{fmtTime(a.time)}</td>
                <td>{a.symbol}</td>
                <td>{a.message}</td>
                <td class="r">{fmtPrice(a.price)}</td>
                <td class={`r ${a.changePercent < 0 ? "down" : "up"}`}>{fmtPercent(a.changePercent)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {past.next && <button type="button" onClick={() => search(past.next)}>Load more</button>}
      </section>
    </div>
  );
}
