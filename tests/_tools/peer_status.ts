/** A peer status for tests: waiting at 192.0.2.1:51820, no handshake yet, unless overridden. */
import type { PeerStatusSpec } from "../../core/resources/specs.ts";

export function peerStatus(over: Partial<PeerStatusSpec> = {}): PeerStatusSpec {
  return {
    endpoint: "192.0.2.1:51820",
    label: "b",
    state: "unknown",
    receiveBytes: 0,
    transmitBytes: 0,
    lastHandshakeTime: "",
    lastUsedEndpoint: "192.0.2.1:51820",
    lastEndpointChange: "",
    ...over,
  };
}
