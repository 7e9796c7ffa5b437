/**
 * The mesh dataplane over our own bindings: the WireGuard link (kernel
 * generic netlink, or wireguard-go over its UAPI socket), the address,
 * table-180 routes and fwmark rules (rtnetlink), and the marking table
 * (nftables). Implements the core's `Dataplane` port; every apply is a diff.
 *
 * @module
 */
import type {
  ApplyReport,
  Dataplane,
  DevicePeer,
  PeerUpdate,
} from "../../core/mesh/dataplane.ts";
import type { MeshKernelState } from "../../core/mesh/kernel_state.ts";
import { MeshConstants } from "../../core/mesh/kernel_state.ts";
import type { Logger } from "../../core/log/logger.ts";
import { publicKeyOf, type WgKey } from "../../core/identity/keys.ts";
import { NotFoundError } from "../netlink/errors.ts";
import { RtNetlink } from "../rtnetlink/rtnetlink.ts";
import { Nftables } from "../nftables/nftables.ts";
import { meshTableSpec } from "../nftables/mesh_table.ts";
import { KernelWireGuard } from "../wireguard/kernel.ts";
import { UserspaceWireGuard } from "../wireguard/uapi.ts";
import { WireGuardGo } from "../wireguard/wireguard_go.ts";
import type { WgBackend, WgPeerConfig } from "../wireguard/types.ts";

/** Options of {@linkcode FfiDataplane.open}. */
export interface FfiDataplaneOptions {
  /** @default "auto": kernel WireGuard when the module is there, else wireguard-go */
  backend?: "auto" | "kernel" | "userspace";
  log: Logger;
  /** wireguard-go binary. @default "wireguard-go" */
  wireguardGo?: string;
}

/** The dataplane. */
export class FfiDataplane implements Dataplane {
  readonly backend: "kernel" | "userspace";
  readonly #rt: RtNetlink;
  readonly #nft: Nftables;
  readonly #wg: WgBackend;
  readonly #log: Logger;
  readonly #wireguardGo: string;
  #daemon: WireGuardGo | undefined;
  #appliedNft = "";
  #deviceStale = false;

  private constructor(
    backend: "kernel" | "userspace",
    rt: RtNetlink,
    nft: Nftables,
    wg: WgBackend,
    options: FfiDataplaneOptions,
  ) {
    this.backend = backend;
    this.#rt = rt;
    this.#nft = nft;
    this.#wg = wg;
    this.#log = options.log;
    this.#wireguardGo = options.wireguardGo ?? "wireguard-go";
  }

  /**
   * Opens the sockets and picks the backend. `auto` uses kernel WireGuard
   * when the `wireguard` generic-netlink family exists, wireguard-go
   * otherwise; `kernel` fails with a clear error when it does not.
   */
  static async open(options: FfiDataplaneOptions): Promise<FfiDataplane> {
    const wanted = options.backend ?? "auto";
    let wg: WgBackend | undefined;
    if (wanted !== "userspace") {
      try {
        wg = await KernelWireGuard.open();
      } catch (e) {
        if (wanted === "kernel" || !(e instanceof NotFoundError)) throw e;
        options.log.info(
          "kernel WireGuard is not available; using wireguard-go",
          { reason: (e as Error).message },
        );
      }
    }
    const backend = wg ? "kernel" : "userspace";
    wg ??= new UserspaceWireGuard();
    const rt = await RtNetlink.open();
    const nft = await Nftables.open();
    return new FfiDataplane(backend, rt, nft, wg, options);
  }

  async #linkExists(name: string): Promise<boolean> {
    try {
      await this.#rt.link(name);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  async ensureLink(
    link: MeshKernelState["link"],
    privateKey: string,
  ): Promise<void> {
    if (this.backend === "kernel") {
      if (!(await this.#linkExists(link.name))) {
        await this.#rt.createLink(link.name, "wireguard");
        this.#log.info("created WireGuard link", {
          link: link.name,
          backend: "kernel",
        });
      }
    } else if (!(await (this.#wg as UserspaceWireGuard).has(link.name))) {
      // A wireguard-go left running by a previous agent is adopted as is.
      this.#daemon = await WireGuardGo.start(link.name, {
        binary: this.#wireguardGo,
        onRestart: () => {
          this.#deviceStale = true;
          this.#appliedNft = "";
          this.#log.warn("wireguard-go restarted; reconfiguring", {
            link: link.name,
          });
        },
      });
      this.#log.info("started wireguard-go", {
        link: link.name,
        pid: this.#daemon.status.pid,
      });
    }
    const current = await this.#rt.link(link.name);
    if (!current.up || current.mtu !== link.mtu) {
      await this.#rt.setLink(link.name, { mtu: link.mtu, up: true });
    }
    const device = await this.#wg.device(link.name);
    const publicKey = publicKeyOf(privateKey as WgKey);
    if (
      this.#deviceStale || device.publicKey !== publicKey ||
      device.listenPort !== link.listenPort ||
      device.firewallMark !== link.firewallMark
    ) {
      await this.#wg.configure(link.name, {
        privateKey,
        listenPort: link.listenPort,
        firewallMark: link.firewallMark,
        ...(this.#deviceStale ? { replacePeers: true, peers: [] } : {}),
      });
      this.#deviceStale = false;
    }
  }

  async devicePeers(linkName: string): Promise<DevicePeer[]> {
    const device = await this.#wg.device(linkName);
    return device.peers.map((p) => ({
      publicKey: p.publicKey,
      endpoint: p.endpoint,
      lastHandshakeTime: p.lastHandshakeTime,
      receiveBytes: p.receiveBytes,
      transmitBytes: p.transmitBytes,
      allowedIPs: p.allowedIPs,
      persistentKeepaliveInterval: p.persistentKeepaliveInterval,
      hasPresharedKey: p.hasPresharedKey,
    }));
  }

  async updatePeers(linkName: string, updates: PeerUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const peers: WgPeerConfig[] = updates.map((u) => {
      const peer: WgPeerConfig = { publicKey: u.publicKey };
      if (u.remove) peer.remove = true;
      if (u.presharedKey !== undefined) peer.presharedKey = u.presharedKey;
      if (u.endpoint !== undefined) peer.endpoint = u.endpoint;
      if (u.persistentKeepaliveInterval !== undefined) {
        peer.persistentKeepaliveInterval = u.persistentKeepaliveInterval;
      }
      if (u.allowedIPs !== undefined) {
        peer.replaceAllowedIPs = true;
        peer.allowedIPs = u.allowedIPs;
      }
      return peer;
    });
    await this.#wg.configure(linkName, { peers });
  }

  async applyRouting(state: MeshKernelState): Promise<ApplyReport> {
    const report = await this.#rt.applyRouting({
      addresses: [{ ifname: state.link.name, address: state.address }],
      routes: state.routes.map((r) => ({
        destination: r.destination,
        device: r.device,
        table: r.table,
        metric: r.metric,
        mtu: r.mtu,
      })),
      rules: state.rules.map((r) => ({
        family: r.family,
        priority: r.priority,
        table: r.table,
        fwmark: r.fwmark,
        fwmask: r.fwmask,
      })),
      tables: [MeshConstants.routingTable],
      rulePriorities: [MeshConstants.rulePriority],
      addressLinks: [state.link.name],
    });
    const spec = meshTableSpec({ name: state.nft.table, ...state.nft });
    const text = JSON.stringify(spec);
    if (text !== this.#appliedNft) {
      await this.#nft.replaceTable(spec);
      this.#appliedNft = text;
      return { added: report.added + 1, removed: report.removed };
    }
    return report;
  }

  async cleanup(linkName: string, nftTable: string): Promise<void> {
    await this.#nft.deleteTable("inet", nftTable, { ifExists: true });
    this.#appliedNft = "";
    for (const family of [4, 6] as const) {
      for (const rule of await this.#rt.rules(family)) {
        if (
          rule.priority === MeshConstants.rulePriority &&
          rule.table === MeshConstants.routingTable
        ) {
          await this.#rt.deleteRule(rule);
        }
      }
    }
    if (this.#daemon) {
      await this.#daemon.stop();
      this.#daemon = undefined;
    }
    if (await this.#linkExists(linkName)) await this.#rt.deleteLink(linkName);
    this.#log.info("removed the mesh link, routes, rules and nft table", {
      link: linkName,
    });
  }

  close(): Promise<void> {
    this.#rt.close();
    this.#nft.close();
    this.#wg.close();
    return Promise.resolve();
  }
}
