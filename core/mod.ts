/**
 * The edgespan core: config, identity, resources, plugin contracts and the
 * agent. It knows no netlink, no HTTP and no discovery wire format.
 *
 * @module
 */
export * from "./config/mod.ts";
export * from "./identity/mod.ts";
export * from "./resources/mod.ts";
export * from "./plugins/mod.ts";
export * from "./netaddr/ip.ts";
export * from "./netaddr/host.ts";
export * from "./encoding/base64.ts";
export * from "./log/logger.ts";
export * from "./reconcile/loop.ts";
export * from "./mesh/local_affiliate.ts";
export * from "./mesh/merge.ts";
export * from "./mesh/node_addresses.ts";
export * from "./mesh/types.ts";
export * from "./agent.ts";
export { VERSION } from "./version.ts";
