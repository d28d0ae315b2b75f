/**
 * Every Deno KV key the actors and rules use, built in one place.
 *
 * `ns` separates the data of the live feeds from synthetic and replayed data that share one KV file.
 */
export const keys = {
  /** An actor's snapshot. */
  actor: (ns: string, symbol: string): Deno.KvKey => ["actor", ns, symbol],
  actorPrefix: (ns: string): Deno.KvKey => ["actor", ns],
  /** Who owns a symbol's actor, until when. */
  lease: (ns: string, symbol: string): Deno.KvKey => ["lease", ns, symbol],
  leasePrefix: (ns: string): Deno.KvKey => ["lease", ns],
  /** A live process, with its heartbeat. */
  member: (ns: string, id: string): Deno.KvKey => ["member", ns, id],
  memberPrefix: (ns: string): Deno.KvKey => ["member", ns],
  /** An alert id already published, so a replay does not publish it twice. */
  alertSeen: (id: string): Deno.KvKey => ["alert_seen", id],
  /** A rule by id, and its indexes. */
  rule: (id: string): Deno.KvKey => ["rule", id],
  rulePrefix: (): Deno.KvKey => ["rule"],
  ruleBySymbol: (symbol: string, id: string): Deno.KvKey => ["rule_by_symbol", symbol, id],
  ruleByUser: (userId: string, id: string): Deno.KvKey => ["rule_by_user", userId, id],
  ruleByUserPrefix: (userId: string): Deno.KvKey => ["rule_by_user", userId],
  /** Bumped on every rule change, so other processes reload. */
  rulesVersion: (): Deno.KvKey => ["rules_version"],
};
