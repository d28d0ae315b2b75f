/**
 * A local stand-in for Yahoo's streamer: a real WebSocket server on a free port that takes {"subscribe":[...]} /
 * {"unsubscribe":[...]} and sends PricingData frames in the version=2 envelope {"type":"pricing","message":b64}
 * (or bare base64), with switches for the failures the client must survive.
 */
import type { YahooDecoder } from "../feeds/yahoo_decode.ts";

/** One client connection as the server sees it. */
export interface FakeClient {
  socket: WebSocket;
  symbols: Set<string>;
  /** Every message the client sent, parsed. */
  messages: Record<string, unknown>[];
}

/** The fake streamer. */
export interface FakeYahoo {
  url: string;
  /** Every connection ever accepted, in order. */
  clients: FakeClient[];
  /** Open connections. */
  open(): FakeClient[];
  /** Sends a PricingData message to every open client subscribed to `fields.id`. */
  price(fields: Record<string, unknown>, opts?: { bare?: boolean }): number;
  /** Sends a raw text frame to every open client. */
  raw(frame: string): void;
  /** Closes every open connection (a drop mid-stream). */
  dropAll(): void;
  /** When true, the server closes a connection as soon as it subscribes. */
  closeOnSubscribe: boolean;
  stop(): Promise<void>;
}

/** Starts the fake streamer on 127.0.0.1 and a free port. */
export function startFakeYahoo(decoder: YahooDecoder): FakeYahoo {
  const clients: FakeClient[] = [];
  const fake: FakeYahoo = {
    url: "",
    clients,
    closeOnSubscribe: false,
    open: () => clients.filter((c) => c.socket.readyState === WebSocket.OPEN),
    price(fields, opts = {}) {
      const b64 = decoder.encode(fields);
      const frame = opts.bare ? b64 : JSON.stringify({ type: "pricing", message: b64 });
      let sent = 0;
      for (const c of fake.open()) {
        if (c.symbols.has(String(fields.id))) {
          c.socket.send(frame);
          sent++;
        }
      }
      return sent;
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
    if (req.headers.get("upgrade") !== "websocket") return new Response("streamer", { status: 426 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    const client: FakeClient = { socket, symbols: new Set(), messages: [] };
    clients.push(client);
    socket.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as { subscribe?: string[]; unsubscribe?: string[] };
      client.messages.push(msg);
      for (const s of msg.subscribe ?? []) client.symbols.add(s);
      for (const s of msg.unsubscribe ?? []) client.symbols.delete(s);
      if (msg.subscribe && fake.closeOnSubscribe) socket.close(1008, "closing on subscribe");
    };
    return response;
  });
  fake.url = `ws://127.0.0.1:${server.addr.port}/?version=2`;
  return fake;
}
