/**
 * The seam between the instances of one product: live quotes per symbol, alerts per user, change notices and
 * latest-value requests travel through a {@link Broker}. One process uses {@link MemoryBroker}; many use the NATS
 * broker (broker/nats.ts) so a WebSocket client on any instance sees what any ingest instance produced.
 *
 * Payloads are JSON text, serialized once by the publisher and handed as-is to every local subscriber.
 */

/** Receives one message's payload. */
export type Handler = (data: string) => void;

/** Answers a request; `undefined` means "not mine, no answer". */
export type Responder = (data: string) => string | undefined | Promise<string | undefined>;

/** How the broker's connection is doing, for /api/v1/health and /metrics. */
export interface BrokerStatus {
  /** "memory" or "nats". */
  name: string;
  /** False while the bus is unreachable: live data does not cross instances. */
  ok: boolean;
  /** Epoch ms of the last change of `ok`. */
  since: number;
  /** Why it is down, when it is. */
  error?: string;
}

/** Publish/subscribe plus request/reply on plain subjects (see {@link subjects}). */
export interface Broker {
  /**
   * Delivers every later message on `subject` to `handler` until the returned function is called.
   *
   * @example
   * ```ts
   * const off = broker.subscribe(subjects("live").quote("AAPL"), (json) => console.log(json));
   * off();
   * ```
   */
  subscribe(subject: string, handler: Handler): () => void;
  /**
   * Sends `data` to the subscribers of `subject` on every instance. A function is called only when the payload is
   * needed (the in-memory broker skips serializing for a subject nobody follows).
   */
  publish(subject: string, data: string | (() => string)): void;
  /** Answers requests on `subject` with `fn` until the returned function is called. */
  respond(subject: string, fn: Responder): () => void;
  /** @returns the first answer to `data` on `subject`, or undefined when nobody answers within `timeoutMs`. */
  request(subject: string, data: string, timeoutMs: number): Promise<string | undefined>;
  status(): BrokerStatus;
  /** Stops delivering and closes the connection. */
  close(): Promise<void>;
}

/**
 * A symbol as one subject token: NATS tokens cannot hold `.`, `*`, `>` or spaces, so those (and `%`, to stay
 * reversible) are percent-encoded. `BRK.B` becomes `BRK%2EB`.
 */
export function subjectToken(value: string): string {
  return value.replace(/[%.*> \t]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
}

/**
 * The subjects of one namespace (`live`, or `synthetic`/`replay` for demo data, which never mix with live data).
 *
 * @example
 * ```ts
 * subjects("live").quote("BRK.B"); // "bb.live.quote.BRK%2EB"
 * ```
 */
export function subjects(namespace: string) {
  const ns = `bb.${subjectToken(namespace)}`;
  return {
    /** Every quote of a symbol, as its owner applied it. */
    quote: (symbol: string) => `${ns}.quote.${subjectToken(symbol)}`,
    /** Built-in (everyone's) alerts of a symbol. */
    symbolAlert: (symbol: string) => `${ns}.alert.symbol.${subjectToken(symbol)}`,
    /** Alerts of one user's own rules. */
    userAlert: (userId: string) => `${ns}.alert.user.${subjectToken(userId)}`,
    /** Request: the latest quote, windows and open candle of a symbol, answered by its owner. */
    latest: (symbol: string) => `${ns}.latest.${subjectToken(symbol)}`,
    /** Notices that a collection (rules, watchlists) changed in KV. */
    changes: `${ns}.changes`,
    /** Notices that candles of a symbol were written from a time on (history caches drop what it changed). */
    history: `${ns}.history`,
  };
}

/** The subjects of one namespace. */
export type Subjects = ReturnType<typeof subjects>;

/**
 * The single-process broker: delivery is a synchronous call to each local handler.
 *
 * @example
 * ```ts
 * const b = new MemoryBroker();
 * b.subscribe("s", (d) => console.log(d));
 * b.publish("s", "{}");
 * ```
 */
export class MemoryBroker implements Broker {
  readonly #subs = new Map<string, Set<Handler>>();
  readonly #responders = new Map<string, Responder>();
  readonly #since = Date.now();

  subscribe(subject: string, handler: Handler): () => void {
    let set = this.#subs.get(subject);
    if (!set) this.#subs.set(subject, set = new Set());
    // A wrapper per call, so subscribing one function twice gives two independent subscriptions.
    const h: Handler = (d) => handler(d);
    set.add(h);
    return () => {
      const s = this.#subs.get(subject);
      if (!s) return;
      s.delete(h);
      if (s.size === 0) this.#subs.delete(subject);
    };
  }

  publish(subject: string, data: string | (() => string)): void {
    const set = this.#subs.get(subject);
    if (!set) return;
    const payload = typeof data === "string" ? data : data();
    for (const h of [...set]) {
      try {
        h(payload);
      } catch (err) {
        // One failing subscriber must not starve the others; the same contract as a remote bus.
        console.error(JSON.stringify({ level: "error", msg: "broker subscriber failed", subject, error: String(err) }));
      }
    }
  }

  respond(subject: string, fn: Responder): () => void {
    this.#responders.set(subject, fn);
    return () => {
      if (this.#responders.get(subject) === fn) this.#responders.delete(subject);
    };
  }

  async request(subject: string, data: string): Promise<string | undefined> {
    const fn = this.#responders.get(subject);
    return fn ? await fn(data) : undefined;
  }

  /** Subjects with at least one subscriber (tests). */
  subjectCount(): number {
    return this.#subs.size;
  }

  status(): BrokerStatus {
    return { name: "memory", ok: true, since: this.#since };
  }

  close(): Promise<void> {
    this.#subs.clear();
    this.#responders.clear();
    return Promise.resolve();
  }
}
