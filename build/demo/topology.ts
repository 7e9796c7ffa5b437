/**
 * A throw-away site made of network namespaces for the demo and the mesh
 * tests: a hub namespace with a bridge (the "internet"), and one namespace
 * per node joined to it by a veth pair, each with its own LAN bridge to
 * advertise. Uses `ip` because this is test tooling, not the product.
 *
 * @module
 */
import { deleteNetns, ip, randomSuffix } from "./netns.ts";

/** One simulated box. */
export interface SiteNode {
  index: number;
  netns: string;
  /** Underlay (WAN) address without length. */
  underlay: string;
  /** Hub-side veth name (in the hub namespace). */
  hubLink: string;
  /** The node's LAN prefix and the node's address on it. */
  lan: string;
  lanAddress: string;
  /** A WireGuard link name unique on the host (wireguard-go sockets are global). */
  wgName: string;
}

/** The whole site. */
export interface Site {
  suffix: string;
  hub: string;
  nodes: SiteNode[];
  /** Cuts or heals a node's underlay link. */
  setLink(node: SiteNode, up: boolean): Promise<void>;
  /** Deletes every namespace (and with them links, routes, rules, nft tables). */
  destroy(): Promise<void>;
}

/** Options for {@linkcode createSite}. */
export interface SiteOptions {
  /** Namespace name prefix. @default "es" */
  prefix?: string;
  /** Underlay /24 as its first three octets. @default "10.99.0" */
  underlay?: string;
}

/** Creates a site of `count` nodes; on failure everything made so far is removed. */
export async function createSite(
  count: number,
  options: SiteOptions = {},
): Promise<Site> {
  const suffix = randomSuffix(3);
  const prefix = options.prefix ?? "es";
  const net = options.underlay ?? "10.99.0";
  const hub = `${prefix}-hub-${suffix}`;
  const made: string[] = [];
  const destroy = async () => {
    // Processes keep a deleted namespace alive (a wireguard-go left running
    // by an agent stopped without --cleanup): deleteNetns ends them first.
    for (const ns of made.reverse()) await deleteNetns(ns);
  };
  try {
    await ip(["netns", "add", hub]);
    made.push(hub);
    await ip(["-n", hub, "link", "set", "lo", "up"]);
    await ip(["-n", hub, "link", "add", "br0", "type", "bridge"]);
    await ip(["-n", hub, "link", "set", "br0", "up"]);
    // The hub is every node's default gateway, as a router would be.
    await ip(["-n", hub, "addr", "add", `${net}.254/24`, "dev", "br0"]);
    const nodes: SiteNode[] = [];
    for (let i = 1; i <= count; i++) {
      const netns = `${prefix}-n${i}-${suffix}`;
      await ip(["netns", "add", netns]);
      made.push(netns);
      const node: SiteNode = {
        index: i,
        netns,
        underlay: `${net}.${i}`,
        hubLink: `h${i}`,
        lan: `10.100.${i}.0/24`,
        lanAddress: `10.100.${i}.1`,
        wgName: `es${suffix}n${i}`.slice(0, 15),
      };
      await ip([
        "link",
        "add",
        "wan0",
        "netns",
        netns,
        "type",
        "veth",
        "peer",
        "name",
        node.hubLink,
        "netns",
        hub,
      ]);
      await ip(["-n", hub, "link", "set", node.hubLink, "master", "br0", "up"]);
      await ip(["-n", netns, "link", "set", "lo", "up"]);
      await ip([
        "-n",
        netns,
        "addr",
        "add",
        `${node.underlay}/24`,
        "dev",
        "wan0",
      ]);
      await ip(["-n", netns, "link", "set", "wan0", "up"]);
      await ip(["-n", netns, "route", "add", "default", "via", `${net}.254`]);
      await ip(["-n", netns, "link", "add", "lan0", "type", "bridge"]);
      await ip([
        "-n",
        netns,
        "addr",
        "add",
        `${node.lanAddress}/24`,
        "dev",
        "lan0",
      ]);
      await ip(["-n", netns, "link", "set", "lan0", "up"]);
      nodes.push(node);
    }
    return {
      suffix,
      hub,
      nodes,
      setLink: async (node, up) =>
        void await ip([
          "-n",
          hub,
          "link",
          "set",
          node.hubLink,
          up ? "up" : "down",
        ]),
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
