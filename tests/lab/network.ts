/**
 * Builds a {@linkcode LabPlan} out of network namespaces (internet bridge,
 * one NAT/firewall router per site, boxes on each site's LAN bridge) and
 * tears it down again. Test tooling: it shells out to `ip`, `nft`, `sysctl`
 * and `conntrack`, which the product never does.
 *
 * @module
 */
import {
  deleteNetns,
  ip,
  killNetnsProcesses,
  run,
  runOk,
} from "../_tools/netns.ts";
import {
  type LabPlan,
  planNamespaces,
  routerRuleset,
  type SitePlan,
} from "./plan.ts";

function inNs(netns: string, cmd: string, args: string[]): Promise<string> {
  return runOk("ip", ["netns", "exec", netns, cmd, ...args]);
}

async function sysctl(netns: string, settings: string[]): Promise<void> {
  for (const s of settings) await inNs(netns, "sysctl", ["-qw", s]);
}

/**
 * Frames bridged between two ports of a router's LAN bridge must not go
 * through the router's nftables (br_netfilter may be loaded, with
 * bridge-nf-call-* = 1 in new namespaces). The keys are missing when
 * br_netfilter is not loaded, which is just as good.
 */
async function noBridgeNetfilter(netns: string): Promise<void> {
  for (const fam of ["iptables", "ip6tables", "arptables"]) {
    await run("ip", [
      "netns",
      "exec",
      netns,
      "sysctl",
      "-qw",
      `net.bridge.bridge-nf-call-${fam}=0`,
    ]);
  }
}

async function addNs(name: string, made: string[]): Promise<void> {
  await ip(["netns", "add", name]);
  made.push(name);
  await ip(["-n", name, "link", "set", "lo", "up"]);
}

async function buildSite(
  plan: LabPlan,
  site: SitePlan,
  made: string[],
): Promise<void> {
  const inet = plan.internet.netns;
  const r = site.netns;
  await addNs(r, made);
  await ip([
    "-n",
    r,
    "link",
    "add",
    "wan0",
    "type",
    "veth",
    "peer",
    "name",
    site.inetLink,
    "netns",
    inet,
  ]);
  await ip(["-n", inet, "link", "set", site.inetLink, "master", "br0", "up"]);
  await sysctl(r, [
    "net.ipv4.ip_forward=1",
    "net.ipv6.conf.all.forwarding=1",
    // A renumbering adds the new WAN address before it removes the old one.
    "net.ipv4.conf.all.promote_secondaries=1",
    "net.ipv4.conf.default.promote_secondaries=1",
  ]);
  await noBridgeNetfilter(r);
  await ip(["-n", r, "addr", "add", `${site.wan4}/24`, "dev", "wan0"]);
  if (site.wan6) {
    await ip([
      "-n",
      r,
      "addr",
      "add",
      `${site.wan6}/64`,
      "dev",
      "wan0",
      "nodad",
    ]);
  }
  await ip(["-n", r, "link", "set", "wan0", "up"]);
  await ip(["-n", r, "route", "add", "default", "via", plan.internet.v4]);
  if (site.wan6) {
    await ip([
      "-n",
      r,
      "-6",
      "route",
      "add",
      "default",
      "via",
      plan.internet.v6,
    ]);
  }
  await ip(["-n", r, "link", "add", "lan0", "type", "bridge"]);
  await ip(["-n", r, "addr", "add", site.lan4Router, "dev", "lan0"]);
  if (site.lan6Router) {
    await ip(["-n", r, "addr", "add", site.lan6Router, "dev", "lan0", "nodad"]);
  }
  await ip(["-n", r, "link", "set", "lan0", "up"]);
  // The internet routes public LANs (open sites, IPv6) to their router.
  if (site.spec.router === "open") {
    await ip(["-n", inet, "route", "add", site.lan4, "via", site.wan4]);
  }
  if (site.lan6 && site.wan6) {
    await ip(["-n", inet, "-6", "route", "add", site.lan6, "via", site.wan6]);
  }
  const rules = await Deno.makeTempFile({ suffix: ".nft" });
  try {
    await Deno.writeTextFile(rules, routerRuleset(site));
    await inNs(r, "nft", ["-f", rules]);
  } finally {
    await Deno.remove(rules).catch(() => {});
  }
  for (const box of site.boxes) {
    const b = box.netns;
    await addNs(b, made);
    await ip([
      "-n",
      b,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      box.routerLink,
      "netns",
      r,
    ]);
    await ip(["-n", r, "link", "set", box.routerLink, "master", "lan0", "up"]);
    await ip(["-n", b, "addr", "add", box.v4, "dev", "eth0"]);
    if (box.v6) {
      await ip(["-n", b, "addr", "add", box.v6, "dev", "eth0", "nodad"]);
    }
    await ip(["-n", b, "link", "set", "eth0", "up"]);
    await ip(["-n", b, "route", "add", "default", "via", box.gateway4]);
    if (box.gateway6) {
      await ip(["-n", b, "-6", "route", "add", "default", "via", box.gateway6]);
    }
  }
}

/** A built lab; {@linkcode Lab.destroy} removes everything it made. */
export interface Lab {
  plan: LabPlan;
  destroy(): Promise<void>;
}

/**
 * Deletes namespaces after killing what still runs in them (an agent's
 * wireguard-go, the discovery service), and the wireguard-go sockets of the
 * plan's links.
 */
async function destroyNamespaces(
  plan: LabPlan,
  names: string[],
): Promise<void> {
  for (const ns of [...names].reverse()) {
    await killNetnsProcesses(ns);
  }
  // A killed process may need a moment to leave; kill again, then delete.
  await new Promise((r) => setTimeout(r, 200));
  for (const ns of [...names].reverse()) await deleteNetns(ns);
  for (const site of plan.sites) {
    for (const box of site.boxes) {
      await Deno.remove(`/var/run/wireguard/${box.wgName}.sock`).catch(
        () => {},
      );
    }
  }
}

/** Builds the lab; on failure everything made so far is removed. */
export async function buildLab(plan: LabPlan): Promise<Lab> {
  const made: string[] = [];
  const destroy = () => destroyNamespaces(plan, made);
  try {
    const inet = plan.internet.netns;
    await addNs(inet, made);
    await sysctl(inet, [
      "net.ipv4.ip_forward=1",
      "net.ipv6.conf.all.forwarding=1",
    ]);
    await noBridgeNetfilter(inet);
    await ip(["-n", inet, "link", "add", "br0", "type", "bridge"]);
    await ip([
      "-n",
      inet,
      "addr",
      "add",
      `${plan.internet.v4}/24`,
      "dev",
      "br0",
    ]);
    await ip([
      "-n",
      inet,
      "addr",
      "add",
      `${plan.internet.v6}/64`,
      "dev",
      "br0",
      "nodad",
    ]);
    await ip(["-n", inet, "link", "set", "br0", "up"]);
    for (const site of plan.sites) await buildSite(plan, site, made);
    return { plan, destroy };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** Flushes a router's conntrack table: every NAT mapping is forgotten. */
export async function flushConntrack(site: SitePlan): Promise<void> {
  // conntrack exits 1 when the table was already empty.
  await run("ip", ["netns", "exec", site.netns, "conntrack", "-F"]);
}

/**
 * Moves a router's WAN to its renumbered address (new one added first, old
 * one removed), fixing the internet's routes to the site's public LAN.
 * Masquerade itself drops the conntrack entries of the removed address, so
 * new mappings use the new one.
 */
export async function renumberWan(
  plan: LabPlan,
  site: SitePlan,
): Promise<void> {
  const r = site.netns;
  await ip([
    "-n",
    r,
    "addr",
    "add",
    `${site.renumberedWan4}/24`,
    "dev",
    "wan0",
  ]);
  await ip(["-n", r, "addr", "del", `${site.wan4}/24`, "dev", "wan0"]);
  await ip(["-n", r, "route", "replace", "default", "via", plan.internet.v4]);
  if (site.spec.router === "open") {
    await ip([
      "-n",
      plan.internet.netns,
      "route",
      "replace",
      site.lan4,
      "via",
      site.renumberedWan4,
    ]);
  }
}

/** Every namespace name the plan uses (for leak checks). */
export function labNamespaces(plan: LabPlan): string[] {
  return planNamespaces(plan);
}
