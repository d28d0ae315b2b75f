/**
 * A local stand-in for Massive's stocks cluster: a real WebSocket server on a free port that greets with a
 * `connected` status, answers `{"action":"auth"}` with auth_success or auth_failed (then closes, as Massive does),
 * tracks `T.<sym>` / `A.<sym>` subscriptions and sends events as JSON arrays.
 */

/** One client connection as the server sees it. */
export interface MassiveClient {
  socket: WebSocket;
  authed: boolean;
  /** Subscribed channels, e.g. "T.AAPL". */
  channels: Set<string>;
  /** Every message the client sent, parsed. */
  messages: { action: string; params: string }[];
}

/** The fake cluster. */
export interface FakeMassive {
  url: string;
  /** The key that authenticates; any other is refused. */
  apiKey: string;
  clients: MassiveClient[];
  open(): MassiveClient[];
  /** Sends events (one frame, a JSON array) to every authenticated client subscribed to each event's channel. */
  send(events: Record<string, unknown>[]): void;
  /** Sends a raw text frame to every open client. */
  raw(frame: string): void;
  dropAll(): void;
  stop(): Promise<void>;
}

/** Starts the fake cluster on 127.0.0.1 and a free port. */
export function startFakeMassive(apiKey = "test-key"): FakeMassive {
  const clients: MassiveClient[] = [];
  const status = (status: string, message: string) => JSON.stringify([{ ev: "status", status, message }]);
  const fake: FakeMassive = {
    url: "",
    apiKey,
    clients,
    open: () => clients.filter((c) => c.socket.readyState === WebSocket.OPEN),
    send(events) {
      for (const c of fake.open()) {
        if (!c.authed) continue;
        const mine = events.filter((e) => c.channels.has(`${e.ev === "AM" ? "AM" : e.ev}.${e.sym}`));
        if (mine.length > 0) c.socket.send(JSON.stringify(mine));
      }
    },
    raw(frame) {
      for (const c of fake.open()) c.socket.send(frame);
    },
    dropAll() {
      for (const c of fake.open()) c.socket.close(1011, "dropped by test");
    },
    stop: () => server.shutdown(),
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (req.headers.get("upgrade") !== "websocket") return new Response("stocks", { status: 426 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    const client: MassiveClient = { socket, authed: false, channels: new Set(), messages: [] };
    clients.push(client);
    socket.onopen = () => socket.send(status("connected", "Connected Successfully"));
    socket.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as { action: string; params: string };
      client.messages.push(msg);
      const list = msg.params.split(",").map((s) => s.trim()).filter(Boolean);
      if (msg.action === "auth") {
        if (msg.params === fake.apiKey) {
          client.authed = true;
          socket.send(status("auth_success", "authenticated"));
        } else {
          socket.send(status("auth_failed", "authentication failed"));
          socket.close(1008, "authentication failed");
        }
      } else if (!client.authed) {
        socket.send(status("error", "not authorized"));
      } else if (msg.action === "subscribe") {
        for (const ch of list) client.channels.add(ch);
        socket.send(status("success", `subscribed to: ${msg.params}`));
      } else if (msg.action === "unsubscribe") {
        for (const ch of list) client.channels.delete(ch);
        socket.send(status("success", `unsubscribed to: ${msg.params}`));
      }
    };
    return response;
  });
  fake.url = `ws://127.0.0.1:${server.addr.port}/stocks`;
  return fake;
}
