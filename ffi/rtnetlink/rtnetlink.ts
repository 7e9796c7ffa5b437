/**
 * `RtNetlink`: links, addresses, policy rules and routes over one
 * NETLINK_ROUTE socket (optionally in another netns), plus
 * `applyRouting`, which reads the kernel, diffs and changes only what
 * differs.
 *
 * @module
 */
import { NotFoundError } from "../netlink/errors.ts";
import { Protocol } from "../netlink/message.ts";
import { withNetnsFd } from "../netlink/netns.ts";
import { NetlinkClient, type NetlinkConn } from "../netlink/conn.ts";
import {
  type Address,
  encodeAddress,
  encodeGetAddresses,
  parseAddress,
} from "./address.ts";
import {
  type AddressEntry,
  type DesiredRouting,
  diffRouting,
  type RouteEntry,
  type RoutingSnapshot,
} from "./diff.ts";
import {
  encodeDelLink,
  encodeGetLinks,
  encodeNewLink,
  encodeNewVeth,
  encodeSetLink,
  type Link,
  type LinkChange,
} from "./link.ts";
import { parseLink } from "./link.ts";
import {
  encodeGetRoutes,
  encodeRoute,
  parseRoute,
  type Route,
  type RouteScope,
  routeScopeName,
} from "./route.ts";
import {
  encodeGetRules,
  encodeRule,
  parseRule,
  type Rule,
  type RuleSpec,
} from "./rule.ts";

/** Options of {@linkcode RtNetlink.open}. */
export interface RtNetlinkOptions {
  /** Netns name (under /run/netns) or path; absent = the caller's. */
  netns?: string;
  /**
   * A connection instead of a new NETLINK_ROUTE socket (tests: the fake of
   * `tests/_tools/nltest.ts`); closed by {@linkcode RtNetlink.close}.
   */
  conn?: NetlinkConn;
}

/** Options of {@linkcode RtNetlink.createVeth}. */
export interface VethOptions {
  /** Netns (name or path) to move the peer end into. */
  peerNetns?: string;
}

/** An address with its link name. */
export interface AddressInfo extends Address {
  ifname: string;
}

/** A route with its link name ("" when it has no output link). */
export interface RouteInfo extends Route {
  device: string;
}

/** Filter of {@linkcode RtNetlink.routes}. */
export interface RouteFilter {
  /** Only this table. @default every table */
  table?: number;
  /** Only this family. @default both */
  family?: 4 | 6;
}

/** Options of {@linkcode RtNetlink.addRoute}. */
export interface AddRouteOptions {
  /** Overwrite an existing route with the same key. @default false */
  replace?: boolean;
}

/** Counts of what {@linkcode RtNetlink.applyRouting} changed. */
export interface ApplyResult {
  added: number;
  removed: number;
}

function describeRoute(r: RouteEntry): string {
  return `${r.destination} dev "${r.device}" table ${r.table}` +
    (r.metric ? ` metric ${r.metric}` : "") + (r.mtu ? ` mtu ${r.mtu}` : "");
}

function scopeEntry(scope: number): { scope?: RouteScope } {
  const name = routeScopeName(scope);
  return name === undefined ? {} : { scope: name };
}

function describeRule(r: RuleSpec): string {
  const mark = r.fwmark === undefined
    ? ""
    : ` fwmark 0x${r.fwmark.toString(16)}/0x${
      (r.fwmask ?? 0xffffffff).toString(16)
    }`;
  return `IPv${r.family} rule priority ${r.priority}${mark} lookup ${r.table}`;
}

/**
 * rtnetlink client bound to one netns.
 *
 * @example Table-180 routing as KubeSpan has it (needs CAP_NET_ADMIN)
 * ```ts ignore
 * const rt = await RtNetlink.open({ netns: "node1" });
 * const { added, removed } = await rt.applyRouting({
 *   addresses: [{ ifname: "kubespan", address: "fd00::1/64" }],
 *   routes: [{ destination: "0.0.0.0/0", device: "kubespan", table: 180, metric: 1, mtu: 1420 }],
 *   rules: [{ family: 4, priority: 32500, table: 180, fwmark: 0x40, fwmask: 0x60 }],
 * });
 * rt.close();
 * ```
 */
export class RtNetlink {
  readonly #sock: NetlinkClient;

  private constructor(sock: NetlinkClient) {
    this.#sock = sock;
  }

  /** Opens a NETLINK_ROUTE socket (or uses `options.conn`). */
  static async open(options: RtNetlinkOptions = {}): Promise<RtNetlink> {
    return new RtNetlink(await NetlinkClient.open(Protocol.ROUTE, options));
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }

  /** Every link. */
  async links(): Promise<Link[]> {
    const msgs = await this.#sock.dump("list links", encodeGetLinks());
    return msgs.map(parseLink);
  }

  /** One link by name; throws NotFoundError when absent. */
  async link(name: string): Promise<Link> {
    const found = (await this.links()).find((l) => l.name === name);
    if (!found) {
      throw new NotFoundError({
        operation: `find link "${name}"`,
        errno: 19,
        extAckMessage: "no link with this name; create it first",
      });
    }
    return found;
  }

  /** Creates a link of a simple kind (`wireguard`, `bridge`, `dummy`). */
  async createLink(name: string, kind: string): Promise<void> {
    await this.#sock.request(
      `create link "${name}" of kind "${kind}"`,
      encodeNewLink(name, kind),
    );
  }

  /** Creates a veth pair, optionally with the peer end in another netns. */
  async createVeth(
    name: string,
    peer: string,
    options: VethOptions = {},
  ): Promise<void> {
    const op = `create veth pair "${name}"/"${peer}"`;
    if (options.peerNetns === undefined) {
      await this.#sock.request(op, encodeNewVeth(name, peer));
      return;
    }
    // The fd must stay open until the kernel has handled the request,
    // which happens inside the synchronous send.
    await withNetnsFd(
      options.peerNetns,
      (fd) => this.#sock.request(op, encodeNewVeth(name, peer, fd)),
    );
  }

  /** Deletes a link. */
  async deleteLink(name: string): Promise<void> {
    await this.#sock.request(`delete link "${name}"`, encodeDelLink(name));
  }

  /** Sets a link up/down and/or its MTU. */
  async setLink(name: string, change: LinkChange): Promise<void> {
    const parts = [
      change.up === undefined ? "" : change.up ? "up" : "down",
      change.mtu === undefined ? "" : `mtu ${change.mtu}`,
    ].filter((x) => x).join(" ");
    await this.#sock.request(
      `set link "${name}" ${parts}`,
      encodeSetLink(name, change),
    );
  }

  async #names(): Promise<Map<number, string>> {
    return new Map((await this.links()).map((l) => [l.index, l.name]));
  }

  /** Addresses of every link, or of `ifname` only. */
  async addresses(ifname?: string): Promise<AddressInfo[]> {
    const names = await this.#names();
    const msgs = await this.#sock.dump("list addresses", encodeGetAddresses());
    const out: AddressInfo[] = [];
    for (const m of msgs) {
      const a = parseAddress(m);
      if (!a) continue;
      const name = names.get(a.ifindex) ?? "";
      if (ifname === undefined || name === ifname) {
        out.push({ ...a, ifname: name });
      }
    }
    return out;
  }

  /** Adds `address` (`fd00::1/64`) to a link; ExistsError if present. */
  async addAddress(ifname: string, address: string): Promise<void> {
    const link = await this.link(ifname);
    await this.#sock.request(
      `add address ${address} to "${ifname}"`,
      encodeAddress("add", link.index, address),
    );
  }

  /** Removes an address from a link. */
  async deleteAddress(ifname: string, address: string): Promise<void> {
    const link = await this.link(ifname);
    await this.#sock.request(
      `delete address ${address} from "${ifname}"`,
      encodeAddress("delete", link.index, address),
    );
  }

  /** Policy rules of one family. */
  async rules(family: 4 | 6): Promise<Rule[]> {
    const msgs = await this.#sock.dump(
      `list IPv${family} rules`,
      encodeGetRules(family),
    );
    return msgs.map(parseRule).filter((r): r is Rule => r !== undefined);
  }

  /** Adds a rule; ExistsError when an equal one exists. */
  async addRule(rule: RuleSpec): Promise<void> {
    await this.#sock.request(
      `add ${describeRule(rule)}`,
      encodeRule("add", rule),
    );
  }

  /** Deletes a rule. */
  async deleteRule(rule: RuleSpec): Promise<void> {
    await this.#sock.request(
      `delete ${describeRule(rule)}`,
      encodeRule("delete", rule),
    );
  }

  /** Routes, optionally of one table and/or family. */
  async routes(filter: RouteFilter = {}): Promise<RouteInfo[]> {
    const names = await this.#names();
    const msgs = await this.#sock.dump("list routes", encodeGetRoutes());
    const out: RouteInfo[] = [];
    for (const m of msgs) {
      const r = parseRoute(m);
      if (!r) continue;
      if (filter.table !== undefined && r.table !== filter.table) continue;
      if (filter.family !== undefined && r.family !== filter.family) continue;
      out.push({ ...r, device: names.get(r.ifindex) ?? "" });
    }
    return out;
  }

  async #routeSpec(r: RouteEntry, names?: Map<string, number>) {
    const ifindex = names?.get(r.device) ?? (await this.link(r.device)).index;
    return {
      destination: r.destination,
      ifindex,
      table: r.table,
      ...(r.metric === undefined ? {} : { metric: r.metric }),
      ...(r.mtu === undefined ? {} : { mtu: r.mtu }),
      ...(r.gateway === undefined ? {} : { gateway: r.gateway }),
      ...(r.scope === undefined ? {} : { scope: r.scope }),
    };
  }

  /** Adds one route (by device name). */
  async addRoute(
    route: RouteEntry,
    options: AddRouteOptions = {},
  ): Promise<void> {
    await this.#sock.request(
      `add route ${describeRoute(route)}`,
      encodeRoute(
        options.replace ? "replace" : "add",
        await this.#routeSpec(route),
      ),
    );
  }

  /** Deletes one route. */
  async deleteRoute(route: RouteEntry): Promise<void> {
    await this.#sock.request(
      `delete route ${describeRoute(route)}`,
      encodeRoute("delete", await this.#routeSpec(route)),
    );
  }

  /** Adds many routes in chunked batches (128 per send). */
  async addRoutes(routes: RouteEntry[]): Promise<void> {
    await this.#routeBatch("add", routes);
  }

  /** Deletes many routes in chunked batches. */
  async deleteRoutes(routes: RouteEntry[]): Promise<void> {
    await this.#routeBatch("delete", routes);
  }

  async #routeBatch(mode: "add" | "delete", routes: RouteEntry[]) {
    if (routes.length === 0) return;
    const ids = new Map(
      (await this.links()).map((l) => [l.name, l.index] as const),
    );
    const msgs = [];
    for (const r of routes) {
      msgs.push(encodeRoute(mode, await this.#routeSpec(r, ids)));
    }
    await this.#sock.batch(
      (i) => {
        const r = routes[i];
        return `${mode} route ${r ? describeRoute(r) : `#${i}`}`;
      },
      msgs,
    );
  }

  /** Reads the routing objects `desired` owns (see {@linkcode diffRouting}). */
  async snapshot(desired: DesiredRouting): Promise<RoutingSnapshot> {
    const families = new Set<4 | 6>([4, 6]);
    const rules: RuleSpec[] = [];
    for (const f of families) {
      for (const r of await this.rules(f)) {
        if (r.action === 1) {
          rules.push({
            family: r.family,
            priority: r.priority,
            table: r.table,
            ...(r.fwmark === undefined ? {} : { fwmark: r.fwmark }),
            ...(r.fwmask === undefined ? {} : { fwmask: r.fwmask }),
          });
        }
      }
    }
    const tables = new Set(
      desired.tables ?? desired.routes.map((r) => r.table),
    );
    const routes: RouteEntry[] = (await this.routes())
      .filter((r) => tables.has(r.table) && r.type === 1)
      .map((r) => ({
        destination: r.destination,
        device: r.device,
        table: r.table,
        metric: r.metric,
        mtu: r.mtu,
        ...(r.gateway === undefined ? {} : { gateway: r.gateway }),
        ...scopeEntry(r.scope),
      }));
    const addresses: AddressEntry[] = (await this.addresses()).map((a) => ({
      ifname: a.ifname,
      address: a.address,
    }));
    return { addresses, routes, rules };
  }

  /**
   * Makes the owned addresses, table routes and rules equal to `desired`,
   * touching only what differs (removes first, then adds). A second call
   * with the same input changes nothing.
   */
  async applyRouting(desired: DesiredRouting): Promise<ApplyResult> {
    const d = diffRouting(await this.snapshot(desired), desired);
    for (const r of d.removeRules) await this.deleteRule(r);
    await this.deleteRoutes(d.removeRoutes);
    for (const a of d.removeAddresses) {
      await this.deleteAddress(a.ifname, a.address);
    }
    for (const a of d.addAddresses) await this.addAddress(a.ifname, a.address);
    await this.addRoutes(d.addRoutes);
    for (const r of d.addRules) await this.addRule(r);
    return {
      added: d.addAddresses.length + d.addRoutes.length + d.addRules.length,
      removed: d.removeAddresses.length + d.removeRoutes.length +
        d.removeRules.length,
    };
  }
}
