/**
 * The kernel WireGuard backend: `WgBackend` over the `wireguard` generic
 * netlink family (WG_CMD_SET_DEVICE / WG_CMD_GET_DEVICE).
 *
 * @module
 */
import { resolveFamily } from "../genetlink/family.ts";
import { Protocol } from "../netlink/message.ts";
import { NetlinkClient, type NetlinkConn } from "../netlink/conn.ts";
import {
  encodeGetDevice,
  encodeSetDevice,
  parseDevice,
  WG_GENL_NAME,
} from "./kernel_codec.ts";
import type { WgBackend, WgDevice, WgDeviceConfig } from "./types.ts";

/** Options of {@linkcode KernelWireGuard.open}. */
export interface KernelWireGuardOptions {
  /** Netns name (under /run/netns) or path; absent = the caller's. */
  netns?: string;
  /**
   * A connection instead of a new NETLINK_GENERIC socket (tests: the fake
   * of `tests/_tools/nltest.ts`); closed by {@linkcode KernelWireGuard.close},
   * or when opening fails.
   */
  conn?: NetlinkConn;
}

/**
 * Kernel WireGuard devices configured over generic netlink.
 *
 * @example (needs the wireguard module and CAP_NET_ADMIN)
 * ```ts ignore
 * const wg = await KernelWireGuard.open(); // NotFoundError without WireGuard
 * await wg.configure("wg0", { privateKey, listenPort: 51820, replacePeers: true, peers });
 * console.log((await wg.device("wg0")).peers.length);
 * wg.close();
 * ```
 */
export class KernelWireGuard implements WgBackend {
  readonly kind = "kernel" as const;
  readonly #sock: NetlinkClient;
  readonly #family: number;

  private constructor(sock: NetlinkClient, family: number) {
    this.#sock = sock;
    this.#family = family;
  }

  /**
   * Opens a generic netlink socket and resolves the `wireguard` family.
   * Throws NotFoundError when the kernel has no WireGuard.
   */
  static async open(
    options: KernelWireGuardOptions = {},
  ): Promise<KernelWireGuard> {
    const sock = await NetlinkClient.open(Protocol.GENERIC, options);
    try {
      const fam = await resolveFamily(sock, WG_GENL_NAME);
      return new KernelWireGuard(sock, fam.id);
    } catch (err) {
      sock.close();
      throw err;
    }
  }

  /** Reads a device with every peer and its statistics. */
  async device(name: string): Promise<WgDevice> {
    const msgs = await this.#sock.dump(
      `read WireGuard device "${name}"`,
      encodeGetDevice(this.#family, name),
    );
    return parseDevice(msgs);
  }

  /** Applies `config`, split over as many messages as needed. */
  async configure(name: string, config: WgDeviceConfig): Promise<void> {
    const msgs = encodeSetDevice(this.#family, name, config);
    const peers = config.peers?.length ?? 0;
    for (const [i, m] of msgs.entries()) {
      await this.#sock.request(
        `configure WireGuard device "${name}" (${peers} peers, message ${
          i + 1
        } of ${msgs.length})`,
        m,
      );
    }
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }
}
