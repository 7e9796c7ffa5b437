/**
 * The empty peer both WireGuard codecs (UAPI and generic netlink) start
 * from.
 *
 * @module
 */
import type { WgPeer } from "./types.ts";

/** A peer with nothing known yet but its key; both codecs fill one in. */
export function emptyPeer(publicKey = ""): WgPeer {
  return {
    publicKey,
    hasPresharedKey: false,
    endpoint: "",
    persistentKeepaliveInterval: 0,
    lastHandshakeTime: 0,
    receiveBytes: 0,
    transmitBytes: 0,
    allowedIPs: [],
    protocolVersion: 0,
  };
}
