/**
 * The box's addresses with the state of their links, read over rtnetlink
 * (an RTM_GETLINK and an RTM_GETADDR dump): the adapter behind the core's
 * `HostAddressSource` port. Which of them become node addresses, and in
 * what order, is decided by the core (`selectNodeAddresses`).
 *
 * @module
 */
import type { HostAddressSource } from "../../core/agent.ts";
import type {
  AddressScope,
  HostAddress,
} from "../../core/mesh/node_addresses.ts";
import type { Address } from "./address.ts";
import {
  ARPHRD_ETHER,
  IFF_LOWER_UP,
  IFF_RUNNING,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
} from "./constants.ts";
import type { Link } from "./link.ts";
import { RtNetlink } from "./rtnetlink.ts";

/** Options of {@linkcode netlinkHostAddresses}. */
export interface NetlinkHostAddressOptions {
  /** Netns name (under /run/netns) or path. @default the caller's */
  netns?: string;
  /**
   * Used for a call when the netlink socket cannot be opened (no netlink on
   * this system, or no FFI permission). @default none: the error is thrown
   */
  fallback?: HostAddressSource;
  /** Told about each error that made a call use the fallback. @default ignore */
  onFallback?: (error: unknown) => void;
}

function scopeName(scope: number): AddressScope {
  if (scope >= RT_SCOPE_HOST) return "host";
  if (scope >= RT_SCOPE_LINK) return "link";
  return scope === RT_SCOPE_UNIVERSE ? "global" : "site";
}

/**
 * Joins an address dump with a link dump. A link counts as physical when
 * it is ethernet without a link kind (no veth, bridge, bond, wireguard...).
 * Addresses of links missing from the link dump are left out. Pure.
 */
export function hostAddressesOf(
  links: readonly Link[],
  addresses: readonly Address[],
): HostAddress[] {
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const out: HostAddress[] = [];
  for (const a of addresses) {
    const link = byIndex.get(a.ifindex);
    if (!link) continue;
    out.push({
      address: a.address,
      link: link.name,
      scope: scopeName(a.scope),
      linkState: {
        operational: (link.flags & IFF_RUNNING) !== 0,
        physical: link.type === ARPHRD_ETHER && link.kind === "",
        carrier: (link.flags & IFF_LOWER_UP) !== 0,
      },
    });
  }
  return out;
}

/**
 * A host address source over rtnetlink. Each call opens a socket, dumps
 * links and addresses, and closes it.
 *
 * @example
 * ```ts ignore
 * const source = netlinkHostAddresses({ fallback: systemAddresses });
 * const nodeAddresses = selectNodeAddresses(await source.addresses());
 * ```
 */
export function netlinkHostAddresses(
  options: NetlinkHostAddressOptions = {},
): HostAddressSource {
  return {
    async addresses() {
      let rt: RtNetlink;
      try {
        rt = await RtNetlink.open(
          options.netns === undefined ? {} : { netns: options.netns },
        );
      } catch (e) {
        if (!options.fallback) throw e;
        options.onFallback?.(e);
        return await options.fallback.addresses();
      }
      try {
        const links = await rt.links();
        // The address dump names no link; join on the index.
        const addresses = await rt.addresses();
        return hostAddressesOf(links, addresses);
      } finally {
        rt.close();
      }
    },
  };
}
