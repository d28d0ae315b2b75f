/**
 * Every Deno KV key the app uses, built in one place.
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
  /** A watchlist by id, its user index, and the version bumped on every change. */
  watchlist: (id: string): Deno.KvKey => ["watchlist", id],
  watchlistPrefix: (): Deno.KvKey => ["watchlist"],
  watchlistByUser: (userId: string, id: string): Deno.KvKey => ["watchlist_by_user", userId, id],
  watchlistByUserPrefix: (userId: string): Deno.KvKey => ["watchlist_by_user", userId],
  watchlistsVersion: (): Deno.KvKey => ["watchlists_version"],
  /** How many records of a collection a user holds (kept in the same atomic as the records). */
  userCount: (userId: string, collection: string): Deno.KvKey => ["user_count", userId, collection],
  /** How many of a user's records reference each symbol. */
  userSymbols: (userId: string): Deno.KvKey => ["user_symbols", userId],
  /** How many users reference a symbol. */
  symbolUsers: (symbol: string): Deno.KvKey => ["symbol_users", symbol],
  /** How many symbols users track beyond the always-tracked ones. */
  trackedSymbols: (): Deno.KvKey => ["tracked_symbols"],
  /** An API token by the SHA-256 of its secret, and a user's tokens by id (value: that hash). */
  token: (hash: string): Deno.KvKey => ["token", hash],
  tokenByUser: (userId: string, id: string): Deno.KvKey => ["token_by_user", userId, id],
  tokenByUserPrefix: (userId: string): Deno.KvKey => ["token_by_user", userId],
  /** Held by the one process running a scheduled job, with an expiry. */
  jobLock: (job: string): Deno.KvKey => ["job_lock", job],
  /** A finished unit of a backfill, so a rerun resumes after it. */
  backfillDone: (unit: string): Deno.KvKey => ["backfill_done", unit],
  /** A user's notification channel. */
  channel: (userId: string, id: string): Deno.KvKey => ["channel", userId, id],
  channelPrefix: (userId: string): Deno.KvKey => ["channel", userId],
  /** The record of one delivery (idempotency key) to one of a user's channels ("_system" for NATS). */
  delivery: (userId: string, key: string): Deno.KvKey => ["delivery", userId, key],
  deliveryPrefix: (userId: string): Deno.KvKey => ["delivery", userId],
  /** Set when an alert's outbox message has fanned out to its channels, so a redelivery does not repeat it. */
  outboxFanout: (alertId: string): Deno.KvKey => ["outbox_fanout", alertId],
  /** Where the KV queue leaves an outbox message it could not hand to the listener at all. */
  outboxUndelivered: (userId: string, key: string): Deno.KvKey => ["outbox_undelivered", userId, key],
  outboxUndeliveredPrefix: (userId: string): Deno.KvKey => ["outbox_undelivered", userId],
  /** The HMAC key that signs user cookies. */
  cookieSecret: (): Deno.KvKey => ["secret", "cookie"],
  /** The VAPID key pair every instance signs web push with. */
  vapidKeys: (): Deno.KvKey => ["config", "vapid"],
};
