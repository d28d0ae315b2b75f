import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Broker, BrokerStatus, Handler, Responder } from "./broker.ts";
import type { Logger } from "../schema/log.ts";

/** Options of {@link NatsBroker.connect}. */
export interface NatsBrokerOptions {
  /** Comma-separated server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string;
  /** Connection name the server shows (default "breadboard"). */
  name?: string;
  log?: Logger;
}

const enc = new TextEncoder();

/**
 * The broker for many instances, on core NATS: subjects are NATS subjects, requests are NATS requests. The client
 * reconnects forever and re-subscribes by itself; while the server is away {@link status} reports it (health shows
 * `degraded`, naming the bus) and publishes are buffered by the client up to its reconnect buffer.
 */
export class NatsBroker implements Broker {
  #status: BrokerStatus;
  #closed = false;

  private constructor(private readonly nc: NatsConnection, private readonly o: NatsBrokerOptions) {
    this.#status = { name: "nats", ok: true, since: Date.now() };
    void this.#watch();
  }

  /**
   * Connects to `servers`, waiting for the first connection (a member without its bus cannot share live data).
   *
   * @example
   * ```ts
   * const broker = await NatsBroker.connect({ servers: "nats://127.0.0.1:4222" });
   * ```
   */
  static async connect(o: NatsBrokerOptions): Promise<NatsBroker> {
    const nc = await connect({
      servers: o.servers.split(",").map((s) => s.trim()).filter(Boolean),
      name: o.name ?? "breadboard",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      waitOnFirstConnect: true,
      pingInterval: 10_000,
    });
    return new NatsBroker(nc, o);
  }

  async #watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect" && this.#status.ok) {
        this.#status = { name: "nats", ok: false, since: Date.now(), error: `disconnected from ${s.server}` };
        this.o.log?.("warn", "NATS connection lost; reconnecting", { server: s.server });
      } else if (s.type === "reconnect") {
        this.#status = { name: "nats", ok: true, since: Date.now() };
        this.o.log?.("info", "NATS reconnected", { server: s.server });
      }
    }
  }

  subscribe(subject: string, handler: Handler): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return this.o.log?.("warn", "NATS subscription error", { subject, error: String(err) });
        try {
          handler(msg.string());
        } catch (e) {
          this.o.log?.("error", "broker subscriber failed", { subject, error: String(e) });
        }
      },
    });
    return () => {
      if (!this.#closed && !sub.isClosed()) sub.unsubscribe();
    };
  }

  publish(subject: string, data: string | (() => string)): void {
    if (this.#closed) return;
    try {
      this.nc.publish(subject, enc.encode(typeof data === "string" ? data : data()));
    } catch (err) {
      // The client's reconnect buffer is full or the connection closed: live data is best effort, alerts also go
      // through the outbox and JetStream.
      this.o.log?.("warn", "NATS publish failed", { subject, error: String(err) });
    }
  }

  respond(subject: string, fn: Responder): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        Promise.resolve(fn(msg.string())).then((reply) => {
          if (reply !== undefined) msg.respond(enc.encode(reply));
        }, (e) => this.o.log?.("warn", "request handler failed", { subject, error: String(e) }));
      },
    });
    return () => {
      if (!this.#closed && !sub.isClosed()) sub.unsubscribe();
    };
  }

  async request(subject: string, data: string, timeoutMs: number): Promise<string | undefined> {
    if (this.#closed) return undefined;
    try {
      return (await this.nc.request(subject, enc.encode(data), { timeout: timeoutMs })).string();
    } catch {
      // No responder (nobody owns the symbol), a timeout, or the bus is down: the caller falls back.
      return undefined;
    }
  }

  status(): BrokerStatus {
    return { ...this.#status };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.nc.drain().catch(() => this.nc.close());
  }
}
