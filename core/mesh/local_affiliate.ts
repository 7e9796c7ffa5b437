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
import type {
  AffiliateControlPlane,
  AffiliateSpec,
} from "../resources/specs.ts";

/**
 * The discovery service keeps at most 64 endpoints per affiliate; endpoints
 * plugins append stop there (the node's own are never cut).
 */
export const MAX_ENDPOINTS = 64;

/** Inputs of {@linkcode buildLocalAffiliate}. */
export interface LocalAffiliateInput {
  nodeId: string;
  hostname: string;
  /**
   * `kubespan.enabled`. When false the affiliate carries no KubeSpan block
   * (key, mesh address, endpoints, networks), as Talos publishes it, so that
   * no peer builds a tunnel to this node.
   */
  kubespanEnabled: boolean;
  publicKey: string;
  /** Mesh address, no prefix length. */
  meshAddress: string;
  /**
   * The node's addresses (no prefix length), already selected and sorted
   * (see `selectNodeAddresses`): the published order is kept.
   */
  nodeAddresses: readonly string[];
  /** Addresses discovery services see this node at. */
  publicAddresses: readonly string[];
  /** Prefixes never advertised as node addresses or endpoints (e.g. pod networks). */
  excludedRanges: readonly string[];
  /** The endpoint filter pipeline over candidate addresses. */
  filterEndpoints: (addresses: string[]) => string[];
  listenPort: number;
  extraAnnouncedEndpoints: readonly string[];
  /**
   * Endpoints plugins add after the node's own (learned mappings), given
   * the own list; appended after it, without duplicates, up to
   * {@linkcode MAX_ENDPOINTS}. Entries that do not parse are dropped.
   * @default none
   */
  appendEndpoints?: (own: readonly string[]) => string[];
  /** Networks routed to this node (route advertisement). */
  advertisedNetworks: readonly string[];
  excludeAdvertisedNetworks: readonly string[];
  operatingSystem: string;
  /** Talos machine type to publish. @default "worker" */
  machineType?: string;
  /** Control-plane data to publish (control-plane machines only). */
  controlPlane?: AffiliateControlPlane;
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
 * without the node's own mesh address and SideroLink ULAs (other KubeSpan
 * ULAs, e.g. of another cluster, stay), the public addresses appended when
 * missing, the filter pipeline applied, each paired with the listen port,
 * then the extra announced endpoints appended when missing (extras are not
 * filtered), then what plugins append (learned mappings, never ahead of an
 * own endpoint). With KubeSpan disabled only the node data is published.
 */
export function buildLocalAffiliate(input: LocalAffiliateInput): AffiliateSpec {
  const mesh = parseIP(input.meshAddress);
  const excluded = input.excludedRanges.map((p) => parsePrefix(p));
  const addresses = unique(
    input.nodeAddresses.map(parseIP).filter((ip) =>
      !ipEqual(ip, mesh) && !excluded.some((p) => prefixContains(p, ip))
    ),
  );
  const node: AffiliateSpec = {
    nodeId: input.nodeId,
    hostname: input.hostname,
    nodename: input.hostname,
    machineType: input.machineType ?? "worker",
    ...(input.controlPlane ? { controlPlane: { ...input.controlPlane } } : {}),
    operatingSystem: input.operatingSystem,
    addresses: addresses.map(formatIP),
    sources: ["local"],
  };
  if (!input.kubespanEnabled) return node;
  const candidates = addresses.filter((ip) =>
    !isUla(ip, UlaPurpose.sideroLink)
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
  for (const extra of input.appendEndpoints?.([...endpoints]) ?? []) {
    if (endpoints.length >= MAX_ENDPOINTS) break;
    let canonical;
    try {
      canonical = formatAddrPort(parseAddrPort(extra));
    } catch {
      continue;
    }
    if (!endpoints.includes(canonical)) endpoints.push(canonical);
  }
  return {
    ...node,
    kubespan: {
      publicKey: input.publicKey,
      address: input.meshAddress,
      additionalAddresses: [...input.advertisedNetworks],
      endpoints,
      excludeAdvertisedNetworks: [...input.excludeAdvertisedNetworks],
    },
  };
}
