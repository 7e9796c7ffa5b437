/**
 * LAN preference: a peer's endpoint candidates ordered by locality, so that
 * boxes on one LAN talk over it and an unreachable private address of
 * another site is tried last instead of first.
 *
 * @module
 */
import {
  parseAddrPort,
  parsePrefix,
  type Prefix,
  prefixContains,
} from "../../core/netaddr/ip.ts";
import { isGlobalUnicast } from "../../core/netaddr/scope.ts";

/** How close a candidate is, best first. */
export type Locality = "local" | "public" | "private";

/** The order of {@linkcode Locality} tiers. */
const RANK: Record<Locality, number> = { local: 0, public: 1, private: 2 };

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

/** An endpoint that does not parse is `private`: last, where it harms least. */
function localityOf(endpoint: string, local: readonly Prefix[]): Locality {
  let ip;
  try {
    ip = parseAddrPort(endpoint).ip;
  } catch {
    return "private";
  }
  if (local.some((p) => prefixContains(p, ip))) return "local";
  return isGlobalUnicast(ip) ? "public" : "private";
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
  return localityOf(endpoint, parsePrefixes(localPrefixes));
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
    .map((endpoint, index) => ({
      endpoint,
      index,
      rank: RANK[localityOf(endpoint, local)],
    }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((e) => e.endpoint);
}
