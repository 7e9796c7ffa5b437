/**
 * The `down-peer-bypass` plugin: lets traffic to a down peer's networks
 * leave outside the tunnel when `allowDownPeerBypass` is on.
 *
 * @module
 */
import { definePlugin, type PeerView } from "../../core/plugins/types.ts";

/**
 * Which peers' prefixes are forced into the tunnel. Without bypass every
 * peer is (traffic to a down peer is dropped inside WireGuard, never sent in
 * clear); with `allowDownPeerBypass` only peers that are up.
 */
export function forcedPeers(
  peers: readonly PeerView[],
  allowDownPeerBypass: boolean,
): Set<string> {
  return new Set(
    peers
      .filter((p) => !allowDownPeerBypass || p.status?.state === "up")
      .map((p) => p.publicKey),
  );
}

/** Applies `kubespan.allowDownPeerBypass`. */
export const downPeerBypassPlugin = definePlugin({
  name: "down-peer-bypass",
  hooks: ["downPeerBypass"],
  version: "1.0.0",
  description:
    "Forces every peer's traffic into the tunnel unless allowDownPeerBypass lets down peers be reached in clear",
  defaultEnabled: true,
  create(ctx) {
    let allow = ctx.config.kubespan.allowDownPeerBypass;
    return {
      downPeerBypass: { forcedPeers: (peers) => forcedPeers(peers, allow) },
      reload(_options, config) {
        allow = config.kubespan.allowDownPeerBypass;
      },
    };
  },
});
