import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/** Raised when a URL names, or resolves to, an address notifications must not reach. Never retried. */
export class UnsafeTargetError extends Error {
  override name = "UnsafeTargetError";
}

/** Resolves a host name to every address it has (IPv4 and IPv6). */
export type Resolver = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address. */
export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * True when `ip` (v4 or v6 literal) is anything but a public unicast address: loopback, private, link-local,
 * metadata, multicast, reserved, documentation, and every IPv6 form that can carry one of those (IPv4-mapped and
 * -compatible, NAT64, 6to4, Teredo, SIIT, site-local).
 *
 * Ranges come from the maintained `ipaddr.js` classification; this only decides which of its ranges are public.
 * IPv6 must also be global unicast (2000::/3), so a range the library files as plain unicast elsewhere still fails.
 */
export function isBlockedAddress(ip: string): boolean {
  const literal = ip.replace(/%.*$/, "");
  if (isIP(literal) === 0) return true;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(literal);
  } catch {
    return true;
  }
  if (addr.kind() === "ipv4") return addr.range() !== "unicast";
  const v6 = addr as ipaddr.IPv6;
  const range = v6.range();
  const parts = v6.parts;
  if (range === "ipv4Mapped") {
    // Only the real ::ffff:a.b.c.d form reaches the IPv4 address it names; judge that address.
    return !v6.isIPv4MappedAddress() || v6.toIPv4Address().range() !== "unicast";
  }
  if (range === "rfc6052") {
    // Well-known NAT64 prefix 64:ff9b::/96 reaches the embedded IPv4 address; the local-use 64:ff9b:1::/48 does not
    // say where it goes.
    const wellKnown = parts[0] === 0x64 && parts[1] === 0xff9b && parts.slice(2, 6).every((x) => x === 0);
    if (!wellKnown) return true;
    const v4 = ipaddr.fromByteArray(v6.toByteArray().slice(12)) as ipaddr.IPv4;
    return v4.range() !== "unicast";
  }
  if (range !== "unicast") return true;
  return (parts[0]! & 0xe000) !== 0x2000;
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
 *
 * @example
 * ```ts
 * await checkTarget("https://hooks.example.com/bb", {}); // its public addresses
 * await checkTarget("http://127.0.0.1/", {}); // throws UnsafeTargetError
 * ```
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
