/**
 * The port the mesh step drives: everything it needs from the kernel (or
 * from wireguard-go), with no netlink in sight. `ffi/` implements it.
 *
 * @module
 */
import type { MeshKernelState } from "./kernel_state.ts";
import type { PeerStats } from "./peer_status.ts";

/** A peer as the device has it. */
export interface DevicePeer extends PeerStats {
  publicKey: string;
  allowedIPs: string[];
  persistentKeepaliveInterval: number;
  hasPresharedKey: boolean;
}

/** One peer change sent to the device. */
export interface PeerUpdate {
  publicKey: string;
  remove?: boolean;
  presharedKey?: string;
  endpoint?: string;
  persistentKeepaliveInterval?: number;
  /** Replaces the peer's allowed IPs. */
  allowedIPs?: string[];
}

/** What a routing apply changed. */
export interface ApplyReport {
  added: number;
  removed: number;
}

/** The kernel, as the mesh step sees it. */
export interface Dataplane {
  /** `kernel` or `userspace`, for status. */
  readonly backend: string;
  /**
   * Makes sure the WireGuard link exists, is up, and has this key, port,
   * firewall mark and MTU. Idempotent: an existing healthy link is kept.
   */
  ensureLink(link: MeshKernelState["link"], privateKey: string): Promise<void>;
  /** Peers currently on the device. */
  devicePeers(linkName: string): Promise<DevicePeer[]>;
  /** Sends peer changes (nothing when the list is empty). */
  updatePeers(linkName: string, updates: PeerUpdate[]): Promise<void>;
  /** Address, table routes, rules and the nft table, applied as a diff. */
  applyRouting(state: MeshKernelState): Promise<ApplyReport>;
  /** Removes the link, routes, rules and nft table. */
  cleanup(linkName: string, nftTable: string): Promise<void>;
  /** Releases sockets and processes; kernel state stays. */
  close(): Promise<void>;
}
