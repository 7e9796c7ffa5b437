/**
 * Wakes a reconcile pass as soon as the kernel changes what the mesh owns,
 * instead of waiting for the next tick: nf_tables events for the mesh
 * table (group `NFNLGRP_NFTABLES`) and rtnetlink events for the mesh link,
 * the table-180 routes and the fwmark rules, and address events outside the
 * mesh link (the box's node addresses, hence its advertised endpoints, may
 * have changed). The pass then reads the kernel back and repairs; this
 * module only decides that a pass is worth running.
 *
 * @module
 */
import type { NetlinkMessage } from "../netlink/message.ts";
import { Protocol } from "../netlink/message.ts";
import { NetlinkSocket } from "../netlink/socket.ts";
import { NFNL_SUBSYS_NFTABLES } from "../nftables/constants.ts";
import { tableOf } from "../nftables/read.ts";
import { RTM } from "../rtnetlink/constants.ts";
import { parseAddress } from "../rtnetlink/address.ts";
import { RT_SCOPE_UNIVERSE } from "../rtnetlink/constants.ts";
import { parseLink } from "../rtnetlink/link.ts";
import { parseRoute } from "../rtnetlink/route.ts";
import { parseRule } from "../rtnetlink/rule.ts";

/** What the mesh owns in the kernel. */
export interface WatchScope {
  /** The mesh link. */
  link: string;
  /** The nft table (family inet). */
  nftTable: string;
  /** The mesh routing table (180). */
  routingTable: number;
  /** The fwmark rules' priority (32500). */
  rulePriority: number;
  /**
   * The mesh address (`fd..::1/64`, the length is ignored): the agent adds
   * it itself, so its events wake nothing. @default none
   */
  meshAddress?: string;
}

/** nf_tables message names by `NFT_MSG_*` number, for log lines. */
const NFT_EVENTS: Record<number, string> = {
  0: "new table",
  2: "table deleted",
  3: "new chain",
  5: "chain deleted",
  6: "new rule",
  8: "rule deleted",
  9: "new set",
  11: "set deleted",
  12: "new set elements",
  14: "set elements deleted",
};

/**
 * `RTNLGRP_*` bits: link, IPv4 and IPv6 addresses (0x10, 0x100), routes and
 * rules.
 */
const RT_GROUPS = 0x1 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | (1 << 18);
/** `NFNLGRP_NFTABLES` (7) as a bind bitmask. */
const NFT_GROUPS = 1 << 6;

/**
 * Why a kernel event concerns the mesh (a sentence for the log), or
 * undefined when it does not. Pure.
 */
export function meshEventReason(
  msg: NetlinkMessage,
  protocol: "route" | "netfilter",
  scope: WatchScope,
): string | undefined {
  try {
    if (protocol === "netfilter") {
      if (msg.type >> 8 !== NFNL_SUBSYS_NFTABLES) return undefined;
      const what = NFT_EVENTS[msg.type & 0xff];
      if (what === undefined || tableOf(msg) !== scope.nftTable) {
        return undefined;
      }
      return `nft table "${scope.nftTable}": ${what}`;
    }
    switch (msg.type) {
      case RTM.DELLINK:
      case RTM.NEWLINK: {
        const link = parseLink(msg);
        if (link.name !== scope.link) return undefined;
        if (msg.type === RTM.DELLINK) return `link "${scope.link}" deleted`;
        return link.up ? undefined : `link "${scope.link}" is down`;
      }
      case RTM.NEWADDR:
      case RTM.DELADDR: {
        // only global addresses can be endpoints (no link-local, host)
        const a = parseAddress(msg);
        if (!a || a.scope !== RT_SCOPE_UNIVERSE) return undefined;
        const ip = a.address.split("/")[0];
        if (ip === scope.meshAddress?.split("/")[0]) return undefined;
        return `address ${a.address} ${
          msg.type === RTM.NEWADDR ? "added" : "removed"
        } (node addresses may have changed)`;
      }
      case RTM.DELROUTE: {
        const r = parseRoute(msg);
        return r?.table === scope.routingTable
          ? `route ${r.destination} removed from table ${scope.routingTable}`
          : undefined;
      }
      case RTM.DELRULE: {
        const r = parseRule(msg);
        return r?.priority === scope.rulePriority
          ? `rule ${scope.rulePriority} removed`
          : undefined;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined; // a message we cannot parse is not ours to act on
  }
}

/** Options of {@linkcode KernelWatch.open}. */
export interface KernelWatchOptions {
  /** Called for each event that concerns the mesh (several may coalesce). */
  wake: (reason: string) => void;
  /**
   * How long one receive waits; bounds how long `close` takes.
   * @default 500
   */
  pollMs?: number;
  /** Netns (name or path) to watch; absent = the caller's. For tests. */
  netns?: string;
}

/** Listens to kernel events for one {@linkcode WatchScope}. */
export class KernelWatch {
  readonly #scope: WatchScope;
  readonly #wake: (reason: string) => void;
  readonly #socks: NetlinkSocket[];
  readonly #loops: Promise<void>[] = [];
  #closed = false;

  private constructor(
    scope: WatchScope,
    options: KernelWatchOptions,
    socks: { route: NetlinkSocket; netfilter: NetlinkSocket },
  ) {
    this.#scope = scope;
    this.#wake = options.wake;
    this.#socks = [socks.route, socks.netfilter];
    this.#loops.push(this.#loop(socks.route, "route"));
    this.#loops.push(this.#loop(socks.netfilter, "netfilter"));
  }

  /** The scope watched. */
  get scope(): WatchScope {
    return { ...this.#scope };
  }

  /** Joins the multicast groups and starts listening. */
  static async open(
    scope: WatchScope,
    options: KernelWatchOptions,
  ): Promise<KernelWatch> {
    const common = {
      receiveTimeoutMs: options.pollMs ?? 500,
      ...(options.netns === undefined ? {} : { netns: options.netns }),
    };
    const route = await NetlinkSocket.open(Protocol.ROUTE, {
      groups: RT_GROUPS,
      ...common,
    });
    let netfilter: NetlinkSocket;
    try {
      netfilter = await NetlinkSocket.open(Protocol.NETFILTER, {
        groups: NFT_GROUPS,
        ...common,
      });
    } catch (err) {
      route.close();
      throw err;
    }
    return new KernelWatch(scope, options, { route, netfilter });
  }

  async #loop(
    sock: NetlinkSocket,
    protocol: "route" | "netfilter",
  ): Promise<void> {
    while (!this.#closed) {
      const msgs = await sock.receiveAsync();
      if (this.#closed) return;
      for (const m of msgs) {
        const reason = meshEventReason(m, protocol, this.#scope);
        if (reason !== undefined) {
          this.#wake(reason);
          break;
        }
      }
    }
  }

  /** Stops listening (within `pollMs`) and closes the sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#loops);
    for (const s of this.#socks) s.close();
  }
}
