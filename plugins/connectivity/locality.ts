/**
 * LAN preference: a peer's endpoint candidates ordered by locality, so that
 * boxes on one LAN talk over it and an unreachable private address of
 * another site is tried last instead of first.
 *
 * @module
 */
import {
  type IP,
  parseAddrPort,
  parsePrefix,
  type Prefix,
  prefixContains,
} from "../../core/netaddr/ip.ts";

/** How close a candidate is, best first. */
export type Locality = "local" | "public" | "private";

/** The order of {@linkcode Locality} tiers. */
const RANK: Record<Locality, number> = { local: 0, public: 1, private: 2 };

/**
 * Addresses that are not global unicast: private (RFC 1918), shared
 * (RFC 6598 CGNAT), loopback, link-local, unspecified, multicast and the
 * IPv6 ULA range. A candidate there is reachable only from its own network.
 */
const NOT_GLOBAL = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "224.0.0.0/4",
  "::/128",
  "::1/128",
  "fc00::/7",
  "fe80::/10",
  "ff00::/8",
].map(parsePrefix);

function parsePrefixes(prefixes: readonly string[]): Prefix[] {
  const out: Prefix[] = [];
  for (const p of prefixes) {
    try {
      out.push(parsePrefix(p));
    } catch {
      // A prefix that does not parse says nothing about locality.
    }
  }
  return out;
}

function localityOf(ip: IP, local: readonly Prefix[]): Locality {
  if (local.some((p) => p.ip.family === ip.family && prefixContains(p, ip))) {
    return "local";
  }
  return NOT_GLOBAL.some((p) => prefixContains(p, ip)) ? "private" : "public";
}

/**
 * The locality of endpoint `ip:port` seen from a box with `localPrefixes`
 * (its addresses with prefix length, e.g. `10.0.1.2/24`): `local` when it is
 * in a subnet the box is on, else `public` for a global unicast address,
 * else `private`. An endpoint that does not parse is `private`.
 */
export function endpointLocality(
  endpoint: string,
  localPrefixes: readonly string[],
): Locality {
  let ip: IP;
  try {
    ip = parseAddrPort(endpoint).ip;
  } catch {
    return "private";
  }
  return localityOf(ip, parsePrefixes(localPrefixes));
}

/**
 * Orders endpoints by locality: candidates in a subnet this box is on first,
 * then public (global unicast) ones, then private ones of subnets this box is
 * not on. Stable: within a tier the advertised order is kept. Pure.
 *
 * @example
 * ```ts
 * import { orderByLocality } from "./locality.ts";
 *
 * orderByLocality(
 *   ["10.0.2.5:51820", "198.51.100.12:51820", "10.0.1.7:51820"],
 *   ["10.0.1.2/24"],
 * ); // ["10.0.1.7:51820", "198.51.100.12:51820", "10.0.2.5:51820"]
 * ```
 */
export function orderByLocality(
  endpoints: readonly string[],
  localPrefixes: readonly string[],
): string[] {
  const local = parsePrefixes(localPrefixes);
  return endpoints
    .map((endpoint, index) => {
      let rank = RANK.private;
      try {
        rank = RANK[localityOf(parseAddrPort(endpoint).ip, local)];
      } catch {
        // Unparsable: last, where it harms least.
      }
      return { endpoint, index, rank };
    })
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((e) => e.endpoint);
}
