/**
 * Kernel bindings: netlink sockets, rtnetlink (links, addresses, rules,
 * routes), generic netlink, nftables, and the WireGuard backends. The only
 * native code is libc, loaded in `libc.ts`; `sd_notify.ts` uses it to talk to
 * systemd.
 *
 * @module
 */
export {
  ExistsError,
  NetlinkClient,
  type NetlinkConn,
  NetlinkError,
  NetlinkSocket,
  type NetlinkSocketOptions,
  NotFoundError,
  PermissionError,
  Protocol,
} from "./netlink/mod.ts";
export {
  type Address,
  type AddressEntry,
  type AddressInfo,
  type ApplyResult,
  type DesiredRouting,
  diffRouting,
  diffSize,
  type Link,
  type LinkChange,
  type Route,
  type RouteEntry,
  type RouteFilter,
  type RouteInfo,
  type RoutingDiff,
  type RoutingSnapshot,
  RtNetlink,
  type RtNetlinkOptions,
  type Rule,
  type RuleSpec,
} from "./rtnetlink/mod.ts";
export { type GenlFamily, resolveFamily } from "./genetlink/mod.ts";
export {
  type MeshTableOptions,
  meshTableSpec,
  Nftables,
  type NftChainSpec,
  type NftExpr,
  type NftReadTable,
  type NftRuleSpec,
  type NftSetSpec,
  type NftTableSpec,
} from "./nftables/mod.ts";
export {
  KernelWireGuard,
  type KernelWireGuardOptions,
} from "./wireguard/kernel.ts";
export type * from "./wireguard/types.ts";
export {
  NotifyError,
  type NotifyOptions,
  sdNotify,
  startWatchdog,
  unixSockaddr,
  watchdogIntervalMs,
  type WatchdogOptions,
} from "./sd_notify.ts";
