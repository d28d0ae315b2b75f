import type { Quote } from "../schema/quote.ts";
import type { Alert } from "../schema/alert.ts";
import type { Broker, Subjects } from "./broker.ts";

/**
 * What an owner of symbols puts on the bus: each applied quote on its symbol's subject, each alert on its user's
 * subject (or the symbol's, for built-in alerts that go to everyone following it). Serialized once, here.
 *
 * @example
 * ```ts
 * const live = new LivePublisher(new MemoryBroker(), subjects("live"));
 * live.quote(quote);
 * ```
 */
export class LivePublisher {
  constructor(private readonly broker: Broker, private readonly subjects: Subjects) {}

  /** @param q the quote an actor just applied. */
  quote(q: Quote): void {
    this.broker.publish(this.subjects.quote(q.symbol), () => JSON.stringify(q));
  }

  /** @param a an alert, published once per id by the actor system. */
  alert(a: Alert): void {
    const subject = a.userId === "" ? this.subjects.symbolAlert(a.symbol) : this.subjects.userAlert(a.userId);
    this.broker.publish(subject, () => JSON.stringify(a));
  }
}
