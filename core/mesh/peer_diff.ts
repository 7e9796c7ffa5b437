/**
 * Compares the desired WireGuard peers with the device's and yields the
 * minimal set of peer updates.
 *
 * @module
 */
import type { DevicePeer, PeerUpdate } from "./dataplane.ts";
import type { DesiredPeer } from "./peer_status.ts";

/** Settings every mesh peer shares. */
export interface CommonPeerSettings {
  /** Base64 preshared key (the cluster secret). */
  presharedKey: string;
  keepaliveSeconds: number;
  /** Send the preshared key to every peer (it cannot be read back to compare). */
  forcePresharedKey?: boolean;
  /**
   * This node's public key. When given, a new peer whose key sorts below it
   * is added without the keepalive, which is set on the next pass: the
   * keepalive sends a handshake at once, and two peers that learn of each
   * other at the same moment would otherwise both initiate, their
   * initiations cross, and both wait WireGuard's 5 s rekey timeout.
   * @default none (every new peer gets the keepalive at once)
   */
  localPublicKey?: string;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = new Set(a);
  return b.every((x) => sa.has(x));
}

/**
 * The updates that bring the device's peers to the desired ones: peers only
 * on the device are removed; new peers are added; existing ones are touched
 * only where they differ (an absent desired endpoint is not a difference, so
 * a roamed endpoint survives).
 */
export function diffPeers(
  current: readonly DevicePeer[],
  desired: readonly DesiredPeer[],
  common: CommonPeerSettings,
): PeerUpdate[] {
  const updates: PeerUpdate[] = [];
  const wanted = new Map(desired.map((d) => [d.publicKey, d]));
  for (const peer of current) {
    if (!wanted.has(peer.publicKey)) {
      updates.push({ publicKey: peer.publicKey, remove: true });
    }
  }
  const have = new Map(current.map((p) => [p.publicKey, p]));
  for (const d of desired) {
    let cur = have.get(d.publicKey);
    if (cur && d.restartHandshake) {
      // Added again below as a new peer: a fresh handshake starts at once.
      updates.push({ publicKey: d.publicKey, remove: true });
      cur = undefined;
    }
    if (!cur) {
      const hold = common.localPublicKey !== undefined &&
        !d.restartHandshake && d.publicKey < common.localPublicKey;
      updates.push({
        publicKey: d.publicKey,
        presharedKey: common.presharedKey,
        persistentKeepaliveInterval: hold ? 0 : common.keepaliveSeconds,
        allowedIPs: [...d.allowedIPs],
        ...(d.endpoint !== undefined ? { endpoint: d.endpoint } : {}),
      });
      continue;
    }
    const u: PeerUpdate = { publicKey: d.publicKey };
    if (!cur.hasPresharedKey || common.forcePresharedKey) {
      u.presharedKey = common.presharedKey;
    }
    if (cur.persistentKeepaliveInterval !== common.keepaliveSeconds) {
      u.persistentKeepaliveInterval = common.keepaliveSeconds;
    }
    if (!sameSet(cur.allowedIPs, d.allowedIPs)) {
      u.allowedIPs = [...d.allowedIPs];
    }
    if (d.endpoint !== undefined && d.endpoint !== cur.endpoint) {
      u.endpoint = d.endpoint;
    }
    if (Object.keys(u).length > 1) updates.push(u);
  }
  return updates;
}
