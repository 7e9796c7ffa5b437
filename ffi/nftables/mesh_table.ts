/**
 * The mesh's marking table, shaped like KubeSpan's `kubespan_prerouting`
 * and `kubespan_outgoing` chains: packets to routed prefixes get the force
 * mark (so the fwmark rule sends them to table 180), WireGuard's own
 * packets and loopback are left alone, and TCP SYNs get their MSS clamped.
 *
 * @module
 */
import type { NftChainSpec, NftSetSpec, NftTableSpec } from "./batch.ts";
import {
  accept,
  clampMss,
  daddrInSet,
  drop,
  markMatch,
  markSet,
  oifname,
  oifnameNot,
  tcpSourcePort,
  tcpSyn,
} from "./matches.ts";

/** Inputs of {@linkcode meshTableSpec}. */
export interface MeshTableOptions {
  /** Table name in the `inet` family, e.g. `edgespan`. */
  name: string;
  routedIPv4: readonly string[];
  routedIPv6: readonly string[];
  /** MSS for SYNs to routed IPv4 / IPv6 destinations. */
  mssIPv4: number;
  mssIPv6: number;
  /** Mark WireGuard puts on its own packets (0x20). */
  firewallMark: number;
  /** Mark meaning "send into the tunnel" (0x40). */
  forceFirewallMark: number;
  /** Bits read and written (0x60). */
  firewallMask: number;
  /**
   * Local TCP ports whose replies are never marked (a discovery service
   * hosted on this box must stay reachable before the tunnel is up).
   * @default []
   */
  bypassTcpSourcePorts?: readonly number[];
  /** One anonymous set per rule (as Talos ≥ 1.6) instead of two named sets. @default false */
  anonymousSets?: boolean;
  /**
   * The mesh link. When set, a `mesh_guard` chain (postrouting) drops
   * packets marked for the tunnel that would leave by any other link: while
   * the link is missing or down (wireguard-go restarting, link deleted),
   * table 180 has no route and marked traffic would fall through to the
   * main table and leave in clear. Not in KubeSpan; local only.
   * @default no guard
   */
  tunnelLink?: string;
}

/** Builds the table spec; families with no routed prefix get no rules. */
export function meshTableSpec(o: MeshTableOptions): NftTableSpec {
  const sets: NftSetSpec[] = [];
  const anonymous = o.anonymousSets ?? false;
  const prefixes = (f: 4 | 6) => [...(f === 4 ? o.routedIPv4 : o.routedIPv6)];
  const families = ([4, 6] as const).filter((f) => prefixes(f).length > 0);
  const setFor = (f: 4 | 6, use: string): string => {
    const name = anonymous ? `${use}_ipv${f}` : `routed_ipv${f}`;
    if (!sets.some((s) => s.name === name)) {
      sets.push({
        name,
        type: f === 4 ? "ipv4_addr" : "ipv6_addr",
        elements: prefixes(f),
        interval: true,
        anonymous,
      });
    }
    return name;
  };
  const ownTraffic = {
    exprs: [...markMatch(o.firewallMask, o.firewallMark), ...accept()],
  };
  const mark = (f: 4 | 6, use: string) => ({
    exprs: [
      ...daddrInSet(f, setFor(f, use)),
      ...markSet(o.firewallMask, o.forceFirewallMark),
      ...accept(),
    ],
  });
  const prerouting: NftChainSpec = {
    name: "kubespan_prerouting",
    type: "filter",
    hook: "prerouting",
    priority: 0,
    policy: "accept",
    rules: [ownTraffic, ...families.map((f) => mark(f, "pre"))],
  };
  const outgoing: NftChainSpec = {
    name: "kubespan_outgoing",
    type: "route",
    hook: "output",
    priority: 0,
    policy: "accept",
    rules: [
      ownTraffic,
      { exprs: [...oifname("lo"), ...accept()] },
      ...(o.bypassTcpSourcePorts ?? []).map((port) => ({
        exprs: [...tcpSourcePort(port), ...accept()],
      })),
      ...families.map((f) => ({
        exprs: [
          ...daddrInSet(f, setFor(f, "mss")),
          ...tcpSyn(),
          ...clampMss(f === 4 ? o.mssIPv4 : o.mssIPv6),
        ],
      })),
      ...families.map((f) => mark(f, "out")),
    ],
  };
  const chains = [prerouting, outgoing];
  if (o.tunnelLink !== undefined) {
    chains.push({
      name: "mesh_guard",
      type: "filter",
      hook: "postrouting",
      priority: 0,
      policy: "accept",
      rules: [{
        exprs: [
          ...markMatch(o.firewallMask, o.forceFirewallMark),
          ...oifnameNot(o.tunnelLink),
          ...drop(),
        ],
      }],
    });
  }
  return { family: "inet", name: o.name, sets, chains };
}
