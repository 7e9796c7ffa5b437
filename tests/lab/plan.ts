/**
 * The lab's address plan and router rule sets, as pure functions of a
 * scenario and a random suffix. "Internet" addresses come only from the
 * documentation ranges (198.51.100.0/24 between routers, 203.0.113.0/24 for
 * open sites' LANs, 2001:db8::/32 for IPv6); NATed LANs use 10.<k>.0.0/24.
 *
 * @module
 */
import type { BoxSpec, RouterKind, Scenario, SiteSpec } from "./scenarios.ts";

/** The "internet" namespace: a bridge joining every router's WAN. */
export interface InternetPlan {
  netns: string;
  /** Address of the bridge, also the routers' default gateway. */
  v4: string;
  v6: string;
  /** Where the discovery service listens (`host:port`). */
  discovery: string;
}

/** One box as built. */
export interface BoxPlan {
  spec: BoxSpec;
  netns: string;
  /** Router-side veth name (in the router namespace). */
  routerLink: string;
  /** Address and prefix length on the site LAN. */
  v4: string;
  v6?: string;
  gateway4: string;
  gateway6?: string;
  /** WireGuard link name, unique on the host (wireguard-go sockets are global). */
  wgName: string;
  listenPort: number;
}

/** One site router as built. */
export interface SitePlan {
  spec: SiteSpec;
  index: number;
  netns: string;
  /** Internet-side veth name (in the internet namespace). */
  inetLink: string;
  /** WAN address (no length) and the one a renumbering moves it to. */
  wan4: string;
  renumberedWan4: string;
  wan6?: string;
  /** LAN prefixes and the router's address on them (with length). */
  lan4: string;
  lan4Router: string;
  lan6?: string;
  lan6Router?: string;
  boxes: BoxPlan[];
}

/** The whole lab of one scenario. */
export interface LabPlan {
  suffix: string;
  internet: InternetPlan;
  sites: SitePlan[];
}

function lanOf(router: RouterKind, k: number): { net: string; host: number } {
  // Open sites get a public /28 (routed by the internet namespace); NATed
  // sites a private /24.
  return router === "open"
    ? { net: `203.0.113.${16 * k}/28`, host: 16 * k }
    : { net: `10.${k}.0.0/24`, host: 0 };
}

function v4Base(prefix: string): string {
  return prefix.split(".").slice(0, 3).join(".");
}

/** Plans namespaces, links and addresses of `scenario` with `suffix`. */
export function planLab(scenario: Scenario, suffix: string): LabPlan {
  if (scenario.sites.length > 13) {
    throw new RangeError("The lab plans at most 13 sites");
  }
  const internet: InternetPlan = {
    netns: `esl${suffix}-inet`,
    v4: "198.51.100.1",
    v6: "2001:db8::1",
    discovery: "198.51.100.1:3000",
  };
  const sites = scenario.sites.map((spec, i): SitePlan => {
    const k = i + 1;
    const lan = lanOf(spec.router, k);
    const base = v4Base(lan.net);
    const boxHost = (j: number) =>
      spec.router === "open" ? lan.host + 1 + j : 10 + j;
    const routerHost = lan.host + 1;
    const boxes = spec.boxes.map((b, j): BoxPlan => ({
      spec: b,
      netns: `esl${suffix}-${b.name}`,
      routerLink: `p${j + 1}`,
      v4: `${base}.${boxHost(j + 1)}/${lan.net.split("/")[1]}`,
      gateway4: `${base}.${routerHost}`,
      ...(spec.ipv6
        ? {
          v6: `2001:db8:${k}::${10 + j + 1}/64`,
          gateway6: `2001:db8:${k}::1`,
        }
        : {}),
      wgName: `l${suffix}${k}${j + 1}`.slice(0, 15),
      listenPort: b.listenPort ?? 51820,
    }));
    return {
      spec,
      index: k,
      netns: `esl${suffix}-r${k}`,
      inetLink: `w${k}`,
      wan4: `198.51.100.${10 + k}`,
      renumberedWan4: `198.51.100.${110 + k}`,
      lan4: lan.net,
      lan4Router: `${base}.${routerHost}/${lan.net.split("/")[1]}`,
      ...(spec.ipv6
        ? {
          wan6: `2001:db8::${10 + k}`,
          lan6: `2001:db8:${k}::/64`,
          lan6Router: `2001:db8:${k}::1/64`,
        }
        : {}),
      boxes,
    };
  });
  return { suffix, internet, sites };
}

/** The UDP ports of a lab relay's legs (its `peer-relay` option `ports`). */
export const RELAY_LEG_PORTS = "51900-51999";

/**
 * The router's nftables rule set. Inbound is dropped unless it is a reply
 * (or UDP 51820 to an open site's LAN): dropped, not accepted, because an
 * accepted unsolicited packet leaves a conntrack entry that makes later
 * outbound SNAT pick another port. The input chain drops too, before the
 * conntrack entry is confirmed.
 */
export function routerRuleset(site: SitePlan): string {
  const nat = site.spec.router === "cone"
    ? `    oifname "wan0" ip saddr ${site.lan4} masquerade\n`
    : site.spec.router === "symmetric"
    ? `    oifname "wan0" ip saddr ${site.lan4} masquerade random,fully-random\n`
    : "";
  const relays = site.spec.boxes.some((b) => b.relay);
  const openIn = site.spec.router === "open"
    ? `    iifname "wan0" oifname "lan0" udp dport ${
      relays ? `{ 51820, ${RELAY_LEG_PORTS} }` : "51820"
    } accept\n`
    : "";
  return `table inet lab {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan0" ct state established,related accept
    iifname "wan0" meta l4proto { icmp, ipv6-icmp } accept
    iifname "wan0" drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
${openIn}  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
${nat}  }
}
`;
}

/** Every namespace of the plan, internet first. */
export function planNamespaces(plan: LabPlan): string[] {
  return [
    plan.internet.netns,
    ...plan.sites.flatMap((s) => [s.netns, ...s.boxes.map((b) => b.netns)]),
  ];
}

/** The site whose LAN holds `address` (no length), if any. */
export function siteOfAddress(
  plan: LabPlan,
  address: string,
): SitePlan | undefined {
  return plan.sites.find((s) =>
    s.boxes.some((b) =>
      b.v4.split("/")[0] === address || b.v6?.split("/")[0] === address
    )
  );
}
