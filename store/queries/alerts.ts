/** Queries over the alerts table. */
import type { RuleKind } from "../../schema/rule.ts";
import type { ParamValue, Store } from "../store.ts";

/** One stored alert as the alerts history lists it. */
export interface AlertRecord {
  id: string;
  time: number;
  symbol: string;
  rule: string;
  kind: RuleKind;
  window: string;
  message: string;
  price: number;
  changePercent: number;
}

/** What {@link listAlerts} filters on. */
export interface AlertFilter {
  /** The caller: their alerts and the shared (built-in) ones. */
  userId: string;
  symbol?: string;
  rule?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Keyset cursor: only alerts strictly older than this (time, id). */
  before?: readonly [number, string];
  limit: number;
}

/**
 * A page of alerts, newest first, and whether more follow it.
 *
 * @returns up to `limit` alerts; `more` is true when the next page is not empty
 * @example
 * ```ts
 * const { alerts, more } = await listAlerts(store, { userId, symbol: "AAPL", limit: 50 });
 * const next = more ? listAlerts(store, { userId, limit: 50, before: [alerts.at(-1)!.time, alerts.at(-1)!.id] }) : null;
 * ```
 */
export async function listAlerts(store: Store, f: AlertFilter): Promise<{ alerts: AlertRecord[]; more: boolean }> {
  const where = ["(user_id = '' OR user_id = {user:String})"];
  const params: Record<string, ParamValue> = { user: f.userId, limit: f.limit + 1 };
  if (f.symbol) (where.push("symbol = {symbol:String}"), params.symbol = f.symbol);
  if (f.rule) (where.push("rule_id = {rule:String}"), params.rule = f.rule);
  if (f.since !== undefined) {
    (where.push("alerts.time >= fromUnixTimestamp64Milli({since:Int64})"), params.since = f.since);
  }
  if (f.until !== undefined) {
    (where.push("alerts.time < fromUnixTimestamp64Milli({until:Int64})"), params.until = f.until);
  }
  if (f.before) {
    where.push("(alerts.time, id) < (fromUnixTimestamp64Milli({ct:Int64}), {cid:String})");
    params.ct = f.before[0];
    params.cid = f.before[1];
  }
  const rows = await store.query<Record<string, unknown>>(
    `SELECT id, toUnixTimestamp64Milli(alerts.time) AS t, symbol, rule_id, kind, \`window\`, message, price,
            change_percent
     FROM alerts FINAL WHERE ${where.join(" AND ")}
     ORDER BY alerts.time DESC, id DESC LIMIT {limit:UInt32}`,
    params,
  );
  return {
    alerts: rows.slice(0, f.limit).map((r) => ({
      id: String(r.id),
      time: Number(r.t),
      symbol: String(r.symbol),
      rule: String(r.rule_id),
      kind: String(r.kind) as RuleKind, // written only from Alert.kind
      window: String(r.window),
      message: String(r.message),
      price: Number(r.price),
      changePercent: Number(r.change_percent),
    })),
    more: rows.length > f.limit,
  };
}
