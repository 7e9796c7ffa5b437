/**
 * Discovery through a Sidero-compatible discovery service: the client
 * plugin, the payload crypto, the `discovery-server` plugin hosting the
 * service, and (in `server/`) the service itself.
 *
 * @module
 */
export {
  createDiscoveryServicePlugin,
  type DiscoveryServiceOptions,
  discoveryServicePlugin,
  type DiscoveryServicePluginDeps,
} from "./plugin.ts";
export { discoveryServerPlugin } from "./embedded.ts";
export {
  bypassDestinations,
  type HostResolver,
  systemResolve,
} from "./bypass.ts";
export { DiscoveryClient, type DiscoveryClientOptions } from "./client.ts";
export {
  type ClusterCipher,
  clusterKey,
  createClusterCipher,
  DiscoveryCryptoError,
} from "./crypto.ts";
export {
  decodeAffiliate,
  type DecodeAffiliateOptions,
  decodeEndpoint,
  encodeAffiliate,
  encodeEndpoint,
} from "./payload.ts";
export * from "./server/mod.ts";
