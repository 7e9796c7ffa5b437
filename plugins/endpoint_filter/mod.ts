/**
 * Endpoint filters (KubeSpan `filters.endpoints` / `filters.peerEndpoints`).
 *
 * @module
 */
export { filterAddressText, filterIPs } from "./filter_ips.ts";
export { endpointFilterPlugin } from "./plugin.ts";
