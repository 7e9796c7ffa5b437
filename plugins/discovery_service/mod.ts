/**
 * Discovery through a Sidero-compatible discovery service: the client
 * plugin, the payload crypto, and (in `server/`) the service itself.
 *
 * @module
 */
export {
  type DiscoveryServiceOptions,
  discoveryServicePlugin,
} from "./plugin.ts";
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
