/**
 * The local affiliate: what this node publishes about itself, built the way
 * KubeSpan builds it (endpoint order matters: peers try the first one first).
 *
 * @module
 */
import {
  formatAddrPort,
  formatIP,
  type IP,
  ipEqual,
  parseAddrPort,
  parseIP,
  parsePrefix,
  prefixContains,
} from "../netaddr/ip.ts";
import { isUla, UlaPurpose } from "../identity/ula.ts";
import type { AffiliateSpec } from "../resources/specs.ts";

/** Inputs of {@linkcode buildLocalAffiliate}. */
export interface LocalAffiliateInput {
  nodeId: string;
  hostname: string;
  publicKey: string;
  /** Mesh address, no prefix length. */
  meshAddress: string;
  /** Addresses found on the box's links (no prefix length). */
  nodeAddresses: readonly string[];
  /** Addresses discovery services see this node at. */
  publicAddresses: readonly string[];
  /** Prefixes never advertised as node addresses or endpoints (e.g. pod networks). */
  excludedRanges: readonly string[];
  /** The endpoint filter pipeline over candidate addresses. */
  filterEndpoints: (addresses: string[]) => string[];
  listenPort: number;
  extraAnnouncedEndpoints: readonly string[];
  /** Networks routed to this node (route advertisement). */
  advertisedNetworks: readonly string[];
  excludeAdvertisedNetworks: readonly string[];
  operatingSystem: string;
}

function unique(ips: IP[]): IP[] {
  const out: IP[] = [];
  for (const ip of ips) {
    if (!out.some((o) => ipEqual(o, ip))) out.push(ip);
  }
  return out;
}

/**
 * Builds the local affiliate. Endpoints: node addresses in the order given
 * without the node's own mesh address and SideroLink/KubeSpan ULAs, the
 * public addresses appended when missing, the filter pipeline applied, each
 * paired with the listen port, then the extra announced endpoints appended
 * when missing (extras are not filtered).
 */
export function buildLocalAffiliate(input: LocalAffiliateInput): AffiliateSpec {
  const mesh = parseIP(input.meshAddress);
  const excluded = input.excludedRanges.map((p) => parsePrefix(p));
  const addresses = unique(
    input.nodeAddresses.map(parseIP).filter((ip) =>
      !ipEqual(ip, mesh) && !excluded.some((p) => prefixContains(p, ip))
    ),
  );
  const candidates = addresses.filter((ip) =>
    !isUla(ip, UlaPurpose.kubeSpan) && !isUla(ip, UlaPurpose.sideroLink)
  );
  for (const text of input.publicAddresses) {
    const ip = parseIP(text);
    if (!candidates.some((c) => ipEqual(c, ip))) candidates.push(ip);
  }
  const filtered = input.filterEndpoints(candidates.map(formatIP));
  const endpoints = filtered.map((a) =>
    formatAddrPort({ ip: parseIP(a), port: input.listenPort })
  );
  for (const extra of input.extraAnnouncedEndpoints) {
    const canonical = formatAddrPort(parseAddrPort(extra));
    if (!endpoints.includes(canonical)) endpoints.push(canonical);
  }
  return {
    nodeId: input.nodeId,
    hostname: input.hostname,
    nodename: input.hostname,
    machineType: "edge",
    operatingSystem: input.operatingSystem,
    addresses: addresses.map(formatIP),
    kubespan: {
      publicKey: input.publicKey,
      address: input.meshAddress,
      additionalAddresses: [...input.advertisedNetworks],
      endpoints,
      excludeAdvertisedNetworks: [...input.excludeAdvertisedNetworks],
    },
    sources: ["local"],
  };
}
