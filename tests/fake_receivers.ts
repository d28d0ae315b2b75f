/**
 * Local receivers for notification tests: a webhook endpoint whose answers the test scripts, and a push service
 * that decrypts what it receives the way a browser would (RFC 8291, with node:crypto rather than the sender's code).
 */
import { Buffer } from "node:buffer";
import { createECDH } from "node:crypto";
import ece from "http_ece";

/** One request a receiver got. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  text: string;
}

/** What the receiver answers: a status, or a promise of one (a hanging receiver never settles). */
export type Answer = (req: Received, n: number) => number | Promise<number>;

/** A receiver on 127.0.0.1 and a free port. */
export interface Receiver {
  url: string;
  got: Received[];
  /** Changes the answer from now on. */
  answer: Answer;
  stop(): Promise<void>;
}

/** Starts a receiver answering `answer` (default 200) to every POST. */
export function startReceiver(answer: Answer = () => 200): Receiver {
  const r: Receiver = { url: "", got: [], answer, stop: () => server.shutdown() };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    const rec: Received = {
      path: new URL(req.url).pathname,
      headers: Object.fromEntries(req.headers),
      body,
      text: new TextDecoder().decode(body),
    };
    r.got.push(rec);
    const status = await r.answer(rec, r.got.length);
    const empty = status === 204 || (status >= 300 && status < 400);
    return new Response(empty ? null : `status ${status}`, {
      status,
      headers: status >= 300 && status < 400 ? { Location: "http://127.0.0.1:9/elsewhere" } : {},
    });
  });
  r.url = `http://127.0.0.1:${server.addr.port}`;
  return r;
}

/** A browser's side of a push subscription: its key pair and auth secret. */
export function browserSubscription(endpoint: string) {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = crypto.getRandomValues(new Uint8Array(16));
  const p256dh = new Uint8Array(ecdh.getPublicKey());
  const b64u = (b: Uint8Array) => b.toBase64({ alphabet: "base64url", omitPadding: true });
  return {
    json: { endpoint, expirationTime: null, keys: { p256dh: b64u(p256dh), auth: b64u(auth) } },
    /** Decrypts one aes128gcm push body sent to this subscription (http_ece, an implementation of RFC 8188). */
    decrypt(body: Uint8Array): string {
      const plain = ece.decrypt(Buffer.from(body), {
        version: "aes128gcm",
        privateKey: ecdh,
        authSecret: Buffer.from(auth).toString("base64url"),
      });
      return new TextDecoder().decode(plain);
    },
  };
}

/** Checks a `vapid t=<jwt>, k=<key>` header: ES256 signature by `k`; returns the JWT claims. */
export async function verifyVapid(header: string): Promise<{ aud: string; exp: number; sub: string; k: string }> {
  const m = /^vapid t=([^,]+),\s*k=(\S+)$/.exec(header);
  if (!m) throw new Error(`not a VAPID header: ${header}`);
  const [h, c, s] = m[1]!.split(".") as [string, string, string];
  const raw = (x: string) => Uint8Array.fromBase64(x, { alphabet: "base64url" });
  const key = await crypto.subtle.importKey("raw", raw(m[2]!), { name: "ECDSA", namedCurve: "P-256" }, false, [
    "verify",
  ]);
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    raw(s),
    new TextEncoder().encode(`${h}.${c}`),
  );
  if (!ok) throw new Error("VAPID signature does not verify");
  return { ...JSON.parse(new TextDecoder().decode(raw(c))), k: m[2]! };
}
