/**
 * Down-peer bypass: which peers' traffic is forced into the tunnel.
 *
 * @module
 */
export { downPeerBypassPlugin, forcedPeers } from "./plugin.ts";
