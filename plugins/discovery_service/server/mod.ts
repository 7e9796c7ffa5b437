/**
 * The self-hostable discovery service.
 *
 * @module
 */
export { discoveryServeCommand } from "./cli.ts";
export {
  type DiscoveryServer,
  serveDiscovery,
  type ServeDiscoveryOptions,
} from "./serve.ts";
export {
  serveOptionsFromConfig,
  type SupervisedDiscovery,
  superviseDiscovery,
} from "./supervise.ts";
export { DEFAULT_LIMITS, type DiscoveryLimits } from "./limits.ts";
export { DiscoveryState } from "./state.ts";
export type { DiscoveryStore, StoreHealth } from "./store.ts";
export { EtcdStore, type EtcdStoreOptions } from "./etcd_store.ts";
