import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/** Raised when a URL names, or resolves to, an address notifications must not reach. Never retried. */
export class UnsafeTargetError extends Error {
  override name = "UnsafeTargetError";
}

/** Resolves a host name to every address it has (IPv4 and IPv6). */
export type Resolver = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address. */
export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

function v4(ip: string): number[] {
  return ip.split(".").map(Number);
}

/** IPv4 ranges that are not the public internet: [first octets, prefix length]. */
const V4_BLOCKED: [number[], number][] = [
  [[0], 8], // "this" network
  [[10], 8], // private
  [[100, 64], 10], // carrier-grade NAT
  [[127], 8], // loopback
  [[169, 254], 16], // link-local, cloud metadata (169.254.169.254)
  [[172, 16], 12], // private
  [[192, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2], 24], // documentation
  [[192, 88, 99], 24], // 6to4 relay
  [[192, 168], 16], // private
  [[198, 18], 15], // benchmarking
  [[198, 51, 100], 24], // documentation
  [[203, 0, 113], 24], // documentation
  [[224], 4], // multicast
  [[240], 4], // reserved, broadcast
];

function v4Blocked(ip: string): boolean {
  const n = v4(ip);
  const addr = ((n[0]! << 24) | (n[1]! << 16) | (n[2]! << 8) | n[3]!) >>> 0;
  return V4_BLOCKED.some(([octets, bits]) => {
    const base = (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8)) >>> 0;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return ((addr & mask) >>> 0) === ((base & mask) >>> 0);
  });
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail becomes two groups). */
function v6Groups(ip: string): number[] {
  let s = ip.toLowerCase().replace(/%.*$/, "");
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const n = v4(tail[1]!);
    s = s.slice(0, -tail[1]!.length) + `${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head, rest] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const r = rest === undefined ? [] : rest ? rest.split(":") : [];
  const fill = rest === undefined ? [] : new Array(8 - h.length - r.length).fill("0");
  return [...h, ...fill, ...r].map((g) => parseInt(g, 16));
}

function v6Blocked(ip: string): boolean {
  const g = v6Groups(ip);
  const embedded = () => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  if (g.slice(0, 7).every((x) => x === 0)) return true; // :: and ::1
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return v4Blocked(embedded()); // IPv4-mapped
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4Blocked(embedded()); // NAT64
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return true; // unique local fc00::/7 (cloud metadata fd00:ec2::254)
  if ((first & 0xffc0) === 0xfe80) return true; // link-local
  if ((first & 0xff00) === 0xff00) return true; // multicast
  if (first === 0x2001 && g[1] === 0x0db8) return true; // documentation
  if (first === 0x2002) return v4Blocked(`${g[1]! >> 8}.${g[1]! & 255}.${g[2]! >> 8}.${g[2]! & 255}`); // 6to4
  return false;
}

/** True when `ip` (v4 or v6 literal) is loopback, private, link-local, metadata, multicast or reserved. */
export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip.replace(/%.*$/, ""));
  if (family === 4) return v4Blocked(ip);
  if (family === 6) return v6Blocked(ip);
  return true;
}

/** Options of the guard. */
export interface GuardOptions {
  /** Allow loopback and private targets (NOTIFY_ALLOW_PRIVATE, for self-hosted receivers). */
  allowPrivate: boolean;
  resolve?: Resolver;
}

/**
 * Checks that `url` is http(s) and that its host and every address it resolves to are public; returns those
 * addresses. Throws {@link UnsafeTargetError} naming the reason. Called when a channel is saved and again, through
 * {@link guardedLookup}, for every connection.
 */
export async function checkTarget(url: string, opts: GuardOptions): Promise<string[]> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UnsafeTargetError(`not a URL: ${url}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new UnsafeTargetError(`only http and https targets are allowed, not ${u.protocol}`);
  }
  if (u.username || u.password) throw new UnsafeTargetError("credentials in the URL are not allowed");
  return await resolveSafe(u.hostname.replace(/^\[|\]$/g, ""), opts);
}

async function resolveSafe(host: string, opts: GuardOptions): Promise<string[]> {
  let addrs: string[];
  if (isIP(host)) addrs = [host];
  else {
    try {
      addrs = await (opts.resolve ?? systemResolver)(host);
    } catch (err) {
      throw new Error(`cannot resolve ${host}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (addrs.length === 0) throw new Error(`${host} has no addresses`);
  }
  if (!opts.allowPrivate) {
    const bad = addrs.find(isBlockedAddress);
    if (bad !== undefined) {
      throw new UnsafeTargetError(
        `${host} resolves to ${bad}, a loopback, private, link-local or metadata address; ` +
          "set NOTIFY_ALLOW_PRIVATE=true to allow private targets on a self-hosted install",
      );
    }
  }
  return addrs;
}

type LookupCallback = (
  err: Error | null,
  address: string | { address: string; family: number }[],
  family?: number,
) => void;

/**
 * A `lookup` for node:http(s) that resolves, checks every address and connects only to a checked one, so a name that
 * re-resolves to a private address after it was saved (DNS rebinding) is refused at connect time.
 */
export function guardedLookup(opts: GuardOptions) {
  return (host: string, options: { all?: boolean }, cb: LookupCallback): void => {
    resolveSafe(host.replace(/^\[|\]$/g, ""), opts).then((addrs) => {
      const list = addrs.map((address) => ({ address, family: isIP(address) }));
      if (options?.all) cb(null, list);
      else cb(null, list[0]!.address, list[0]!.family);
    }, (err) => cb(err, ""));
  };
}
