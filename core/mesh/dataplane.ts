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

/** Kernel objects the dataplane checks against what it applied. */
export type DriftObject =
  | "link"
  | "device"
  | "wireguard-go"
  | "routing"
  | "nft";

/** One repair: something changed behind the agent's back and was put back. */
export interface DataplaneRepair {
  object: DriftObject;
  /** What was found, e.g. `table inet edgespan is missing`. */
  detail: string;
  /** When it was repaired (ms since the epoch). */
  at: number;
}

/** What the dataplane found and fixed so far. */
export interface DataplaneHealth {
  /** Repairs since start, by object. */
  repairs: Record<DriftObject, number>;
  /** The latest repair, if any. */
  last?: DataplaneRepair;
  /** Differences found and not repaired yet (`object: detail`). */
  drift: string[];
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
  /**
   * Repairs so far. Every pass compares the kernel with what was applied
   * (link, device, wireguard-go, routes and rules, nft table) and puts
   * back what differs. Absent = the dataplane does not report them.
   */
  health?(): DataplaneHealth;
  /** Releases sockets and processes; kernel state stays. */
  close(): Promise<void>;
}

/**
 * The `dataplane` readiness check: not ready while a difference found in
 * the kernel is not repaired yet; the detail counts past repairs.
 *
 * @example
 * ```ts
 * import { dataplaneCheck } from "./dataplane.ts";
 * const repairs = { link: 0, device: 0, "wireguard-go": 0, routing: 0, nft: 1 };
 * const check = dataplaneCheck({ repairs, drift: [] });
 * console.log(check); // { ok: true, detail: "in sync; 1 repair (nft 1)" }
 * ```
 */
export function dataplaneCheck(
  health: DataplaneHealth,
): { ok: boolean; detail: string } {
  const counts = Object.entries(health.repairs).filter(([, n]) => n > 0);
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const repairs = total === 0
    ? "no repairs"
    : `${total} repair${total === 1 ? "" : "s"} (${
      counts.map(([o, n]) => `${o} ${n}`).join(", ")
    })`;
  if (health.drift.length > 0) {
    return {
      ok: false,
      detail: `drift: ${health.drift.join("; ")}; ${repairs}`,
    };
  }
  return { ok: true, detail: `in sync; ${repairs}` };
}
