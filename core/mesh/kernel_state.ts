/**
 * The kernel state a node wants, as plain data: the WireGuard link, its
 * address, the table-180 routes, the fwmark rules and the nftables marking
 * sets. Pure; the ffi layer applies it as a diff.
 *
 * @module
 */
import { IPSet } from "../netaddr/ipset.ts";
import { formatPrefix, type Prefix } from "../netaddr/ip.ts";

/** KubeSpan's routing constants. */
export const MeshConstants = {
  /** Mark WireGuard puts on its own encrypted packets. */
  firewallMark: 0x20,
  /** Mark meaning "send into the tunnel". */
  forceFirewallMark: 0x40,
  /** Only these bits are read and written. */
  firewallMask: 0x60,
  routingTable: 180,
  rulePriority: 32500,
  routeMetric: 1,
  keepaliveSeconds: 25,
} as const;

/** Routes and rules for the link. */
export interface MeshRoute {
  family: 4 | 6;
  /** `0.0.0.0/0` or `::/0`. */
  destination: string;
  table: number;
  metric: number;
  mtu: number;
  device: string;
  /**
   * Route scope. KubeSpan installs its table-180 routes with scope global
   * (a device route would otherwise get scope link).
   */
  scope: "global";
}

/** A policy rule. */
export interface MeshRule {
  family: 4 | 6;
  fwmark: number;
  fwmask: number;
  table: number;
  priority: number;
}

/** The nftables part: marking chains fed by two interval sets. */
export interface MeshNftState {
  /** Table name in the `inet` family. */
  table: string;
  /** Prefixes whose traffic is marked into the tunnel. */
  routedIPv4: string[];
  routedIPv6: string[];
  /** TCP MSS clamp for SYNs to routed destinations. */
  mssIPv4: number;
  mssIPv6: number;
  firewallMark: number;
  forceFirewallMark: number;
  firewallMask: number;
  /** Local TCP ports whose replies are never marked (embedded discovery). */
  bypassTcpSourcePorts: number[];
}

/** Everything the node wants in the kernel. */
export interface MeshKernelState {
  link: { name: string; mtu: number; listenPort: number; firewallMark: number };
  /** Mesh address with the subnet's length, e.g. `fd..::1/64`. */
  address: string;
  routes: MeshRoute[];
  rules: MeshRule[];
  nft: MeshNftState;
}

/** Inputs of {@linkcode desiredKernelState}. */
export interface KernelStateInput {
  linkName: string;
  mtu: number;
  listenPort: number;
  /** Node mesh address (`/128`) and the cluster subnet (`/64`). */
  address: Prefix;
  subnet: Prefix;
  /** Allowed IPs of the peers forced into the tunnel (bypass plugin decides who). */
  routedPrefixes: readonly string[];
  /** nft table name. @default "edgespan" */
  nftTable?: string;
  /**
   * Destinations never marked into the tunnel: the discovery services, so
   * that finding peers never depends on the mesh it bootstraps. @default []
   */
  neverRouted?: readonly string[];
  /** Local TCP ports whose replies are never marked. @default [] */
  bypassTcpSourcePorts?: readonly number[];
}

/** Builds the desired kernel state. */
export function desiredKernelState(input: KernelStateInput): MeshKernelState {
  // The ULA range is routed by the link's own /64, so it is never marked.
  const routed = IPSet.of(input.routedPrefixes)
    .subtract(IPSet.of([input.subnet]))
    .subtract(IPSet.of(input.neverRouted ?? []));
  const c = MeshConstants;
  return {
    link: {
      name: input.linkName,
      mtu: input.mtu,
      listenPort: input.listenPort,
      firewallMark: c.firewallMark,
    },
    address: `${
      formatPrefix({ ip: input.address.ip, bits: input.subnet.bits })
    }`,
    routes: ([4, 6] as const).map((family) => ({
      family,
      destination: family === 4 ? "0.0.0.0/0" : "::/0",
      table: c.routingTable,
      metric: c.routeMetric,
      mtu: input.mtu,
      device: input.linkName,
      scope: "global" as const,
    })),
    rules: ([4, 6] as const).map((family) => ({
      family,
      fwmark: c.forceFirewallMark,
      fwmask: c.firewallMask,
      table: c.routingTable,
      priority: c.rulePriority,
    })),
    nft: {
      table: input.nftTable ?? "edgespan",
      routedIPv4: routed.prefixesOf(4).map(formatPrefix),
      routedIPv6: routed.prefixesOf(6).map(formatPrefix),
      // MTU minus IP header, TCP header and 12 bytes of TCP options.
      mssIPv4: input.mtu - 52,
      mssIPv6: input.mtu - 72,
      firewallMark: c.firewallMark,
      forceFirewallMark: c.forceFirewallMark,
      firewallMask: c.firewallMask,
      bypassTcpSourcePorts: [...(input.bypassTcpSourcePorts ?? [])],
    },
  };
}

/**
 * Endpoints peers were actually reached at (for the `endpoints` resource).
 * A relayed peer's endpoint is the relay's leg, no mapping of the peer:
 * it is never reported.
 */
export function observedEndpoints(
  statuses: ReadonlyMap<
    string,
    { state: string; endpoint: string; path?: string | undefined }
  >,
  affiliateOf: (publicKey: string) => string | undefined,
): Map<string, { affiliateID: string; endpoint: string }> {
  const out = new Map<string, { affiliateID: string; endpoint: string }>();
  for (const [publicKey, status] of statuses) {
    if (status.state !== "up" || !status.endpoint) continue;
    if (status.path?.startsWith("relay:")) continue;
    const affiliateID = affiliateOf(publicKey);
    if (affiliateID) {
      out.set(publicKey, { affiliateID, endpoint: status.endpoint });
    }
  }
  return out;
}
