/**
 * The connection guard's thread: runs one {@link ConnGuard} with the address table and counters it shares with the
 * thread that started it (`serveGuarded` in routes/conn_guard.ts), and forwards its log lines there.
 */
import {
  ConnGuard,
  type GuardThreadInit,
  type GuardThreadMessage,
  SharedPeerTable,
  sharedStats,
} from "./conn_guard.ts";
import type { FramesMessage } from "./frame_channel.ts";

type Command =
  | GuardThreadInit
  | FramesMessage
  | { type: "upstream"; upstream: { hostname: string; port: number } }
  | { type: "close" };
// The worker's global scope; the project is typed for the window scope, where these are a window's.
const scope = self as unknown as {
  postMessage(m: GuardThreadMessage): void;
  onmessage: ((e: MessageEvent<Command>) => void) | null;
};
const post = (m: GuardThreadMessage) => scope.postMessage(m);
let guard: ConnGuard | undefined;

scope.onmessage = async (e) => {
  const m = e.data;
  if ("options" in m) {
    try {
      guard = new ConnGuard({
        ...m.options,
        peers: new SharedPeerTable(m.peers),
        stats: sharedStats(m.stats),
        pendingFrames: new Int32Array(m.pending),
        log: (level, msg, fields) => post({ type: "log", level, msg, ...(fields ? { fields } : {}) }),
      });
      post({ type: "listening", addr: guard.addr });
    } catch (err) {
      post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
    }
  } else if (m.type === "frames") {
    const seq = m.seq;
    void (guard?.inject(new Uint8Array(m.bytes), new Uint32Array(m.index)) ?? Promise.resolve())
      .then(() => post({ type: "taken", seq }));
  } else if (m.type === "upstream") guard?.setUpstream(m.upstream);
  else if (m.type === "close") {
    await guard?.close();
    post({ type: "closed" });
  }
};
