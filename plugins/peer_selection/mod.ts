/**
 * Peer selection: which endpoint of a peer to try next.
 *
 * @module
 */
export { nextEndpoint } from "./endpoint_cycling.ts";
export { endpointCyclingPlugin } from "./plugin.ts";
