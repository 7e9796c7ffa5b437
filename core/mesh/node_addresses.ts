/**
 * The node's own addresses, chosen and ordered the way Talos builds its
 * node addresses: only links that are up (a physical NIC also needs
 * carrier), no host/link scope, loopback, multicast or link-local
 * addresses, no Kubernetes pod/service ranges, no SideroLink ULAs, sorted
 * by address (Talos' default "v1" algorithm: IPv4 before IPv6, then the
 * address bytes, then the prefix length), duplicates dropped.
 *
 * The order matters: it becomes the order of the published endpoints, and
 * peers try the first one first.
 *
 * @module
 */
import { isUla, UlaPurpose } from "../identity/ula.ts";
import {
  compareIP,
  formatIP,
  formatPrefix,
  ipEqual,
  parsePrefix,
  type Prefix,
  prefixContains,
} from "../netaddr/ip.ts";
import { isSpecialIP } from "../netaddr/scope.ts";

/** Address scope, as `ip address` prints it. */
export type AddressScope = "global" | "site" | "link" | "host";

/** The state of the link an address sits on. */
export interface HostLinkState {
  /** Operationally up or unknown (the kernel's `IFF_RUNNING`). */
  operational: boolean;
  /** A physical NIC (ethernet without a link kind); it also needs carrier. */
  physical: boolean;
  /** Carrier present (`IFF_LOWER_UP`). */
  carrier: boolean;
}

/** One address on one of the box's links, as a host address source reports it. */
export interface HostAddress {
  /** `192.0.2.10/24`; a bare address counts as a host prefix. */
  address: string;
  /** Name of the link. */
  link: string;
  /** Scope of the address. */
  scope: AddressScope;
  /** State of the link. */
  linkState: HostLinkState;
}

/** Options of {@linkcode selectNodeAddresses}. */
export interface NodeAddressOptions {
  /** Links whose addresses are never node addresses (the mesh link). @default [] */
  excludeLinks?: readonly string[];
  /** Prefixes never used as node addresses (Kubernetes pod/service CIDRs). @default [] */
  excludedRanges?: readonly string[];
}

/** Whether a link counts as up: operational, and with carrier when physical. */
export function linkIsUp(state: HostLinkState): boolean {
  return state.operational && (!state.physical || state.carrier);
}

/**
 * Orders prefixes as Talos' default node address sort does: by address
 * (IPv4 first), then by prefix length.
 */
export function compareNodePrefixes(a: Prefix, b: Prefix): number {
  return compareIP(a.ip, b.ip) || a.bits - b.bits;
}

/**
 * The node addresses (no prefix length), filtered and sorted as described
 * in the module doc. Pure. An entry whose address does not parse is skipped.
 */
export function selectNodeAddresses(
  host: readonly HostAddress[],
  options: NodeAddressOptions = {},
): string[] {
  return nodeAddressPrefixes(host, options).map((p) => formatIP(p.ip));
}

/**
 * The node addresses with their prefix lengths (`10.0.1.2/24`), in the same
 * order as {@linkcode selectNodeAddresses}: the subnets the box is on.
 */
export function selectNodePrefixes(
  host: readonly HostAddress[],
  options: NodeAddressOptions = {},
): string[] {
  return nodeAddressPrefixes(host, options).map(formatPrefix);
}

/**
 * The node addresses as prefixes, parsed, filtered, sorted and deduplicated
 * once; {@linkcode selectNodeAddresses} and {@linkcode selectNodePrefixes}
 * format them.
 */
export function nodeAddressPrefixes(
  host: readonly HostAddress[],
  options: NodeAddressOptions = {},
): Prefix[] {
  const excludeLinks = new Set(options.excludeLinks ?? []);
  const excluded = (options.excludedRanges ?? []).map(parsePrefix);
  const kept: Prefix[] = [];
  for (const a of host) {
    if (excludeLinks.has(a.link) || !linkIsUp(a.linkState)) continue;
    if (a.scope === "link" || a.scope === "host") continue;
    let prefix: Prefix;
    try {
      prefix = parsePrefix(a.address);
    } catch {
      continue;
    }
    const ip = prefix.ip;
    if (isSpecialIP(ip) || isUla(ip, UlaPurpose.sideroLink)) continue;
    if (excluded.some((p) => prefixContains(p, ip))) continue;
    kept.push(prefix);
  }
  kept.sort(compareNodePrefixes);
  const out: Prefix[] = [];
  for (const p of kept) {
    if (!out.some((q) => ipEqual(q.ip, p.ip))) out.push(p);
  }
  return out;
}
