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
  DataplaneHealth,
  DevicePeer,
  DriftObject,
  PeerUpdate,
} from "../../core/mesh/dataplane.ts";
import type { MeshKernelState } from "../../core/mesh/kernel_state.ts";
import { MeshConstants } from "../../core/mesh/kernel_state.ts";
import type { Logger } from "../../core/log/logger.ts";
import { derivePublicKey, type WgKey } from "../../core/identity/keys.ts";
import { NotFoundError } from "../netlink/errors.ts";
import { RtNetlink } from "../rtnetlink/rtnetlink.ts";
import { Nftables } from "../nftables/nftables.ts";
import { meshTableSpec } from "../nftables/mesh_table.ts";
import { openWireGuard, type WireGuardClient } from "../wireguard/client.ts";
import type { WireGuardGoEvent } from "../wireguard/daemons.ts";
import { KernelWatch, type WatchScope } from "./kernel_watch.ts";
import type { WgPeerConfig } from "../wireguard/types.ts";

/** Options of {@linkcode FfiDataplane.open}. */
export interface FfiDataplaneOptions {
  /** @default "auto": kernel WireGuard when the module is there, else wireguard-go */
  backend?: "auto" | "kernel" | "userspace";
  log: Logger;
  /** wireguard-go binary. @default "wireguard-go" */
  wireguardGo?: string;
  /** Clock for repair times. @default Date.now */
  now?: () => number;
  /**
   * Asks for a reconcile pass soon: called when the kernel changed between
   * passes in a way the dataplane saw (wireguard-go restarted, so its link
   * lost the address, routes and peers). @default nothing
   */
  onWake?: (reason: string) => void;
  /**
   * How often an adopted wireguard-go (one we did not start, so cannot
   * wait on) is probed between passes; its death wakes a pass. @default 1000
   */
  adoptedCheckMs?: number;
}

/** The dataplane. */
export class FfiDataplane implements Dataplane {
  readonly backend: "kernel" | "userspace";
  readonly #rt: RtNetlink;
  readonly #nft: Nftables;
  readonly #wg: WireGuardClient;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #wake: (reason: string) => void;
  readonly #watchKernel: boolean;
  /** Kernel events for what the mesh owns wake a pass (see KernelWatch). */
  #watch: KernelWatch | undefined;
  #watchFailed = false;
  #appliedNft = "";
  #appliedRouting = "";
  /** Link and key of the latest successful ensureLink. */
  #appliedLink = "";
  /** The public key of the last private key seen (derived once, not per pass). */
  #keyPair: { privateKey: string; publicKey: string } | undefined;
  #deviceStale = false;
  /** Differences found and not repaired yet, by object. */
  readonly #drift = new Map<DriftObject, string>();
  readonly #health: Omit<DataplaneHealth, "drift"> = {
    repairs: {
      link: 0,
      device: 0,
      "wireguard-go": 0,
      routing: 0,
      nft: 0,
    },
  };

  private constructor(
    rt: RtNetlink,
    nft: Nftables,
    wg: WireGuardClient,
    options: FfiDataplaneOptions,
  ) {
    this.backend = wg.kind;
    this.#rt = rt;
    this.#nft = nft;
    this.#wg = wg;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#wake = options.onWake ?? (() => {});
    this.#watchKernel = options.onWake !== undefined;
  }

  /** What the wireguard-go processes did between passes. */
  #onWireGuardGo(event: WireGuardGoEvent): void {
    if (event.kind === "adoptedGone") {
      this.#wake("the adopted wireguard-go is gone");
      return;
    }
    // a restarted wireguard-go brings a new, down link without peers
    this.#deviceStale = true;
    this.#found(
      "wireguard-go",
      `wireguard-go for "${event.interface}" restarted after it ${
        event.lastError || "exited"
      }`,
    );
    this.#wake("wireguard-go restarted");
  }

  /** Notes a difference between the kernel and what was applied. */
  #found(object: DriftObject, detail: string): void {
    if (!this.#drift.has(object)) {
      this.#log.warn("kernel state changed behind the agent; repairing", {
        object,
        detail,
      });
    }
    this.#drift.set(object, detail);
  }

  /** Counts the noted differences of `objects` as repaired. */
  #settle(objects: readonly DriftObject[]): void {
    for (const object of objects) {
      const detail = this.#drift.get(object);
      if (detail === undefined) continue;
      this.#drift.delete(object);
      this.#health.repairs[object]++;
      this.#health.last = { object, detail, at: this.#now() };
      this.#log.info("kernel state repaired", { object, detail });
    }
  }

  health(): DataplaneHealth {
    return {
      repairs: { ...this.#health.repairs },
      ...(this.#health.last ? { last: { ...this.#health.last } } : {}),
      drift: [...this.#drift].map(([object, detail]) => `${object}: ${detail}`),
    };
  }

  /**
   * Opens the sockets and picks the backend. `auto` uses kernel WireGuard
   * when the `wireguard` generic-netlink family exists, wireguard-go
   * otherwise; `kernel` fails with a clear error when it does not.
   */
  static async open(options: FfiDataplaneOptions): Promise<FfiDataplane> {
    // the client is opened first; its events reach the dataplane once made
    const relay: { to?: (event: WireGuardGoEvent) => void } = {};
    const wg = await openWireGuard({
      backend: options.backend ?? "auto",
      onFallback: (reason) =>
        options.log.info(
          "kernel WireGuard is not available; using wireguard-go",
          { reason },
        ),
      wireguardGo: {
        binary: options.wireguardGo ?? "wireguard-go",
        adoptedCheckMs: options.adoptedCheckMs ?? 1000,
        onEvent: (event) => relay.to?.(event),
      },
    });
    const rt = await RtNetlink.open();
    const nft = await Nftables.open();
    const dataplane = new FfiDataplane(rt, nft, wg, options);
    relay.to = (event) => dataplane.#onWireGuardGo(event);
    return dataplane;
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

  /**
   * Makes sure exactly one wireguard-go serves `name`: the supervisor we
   * started (while it starts, runs or waits to restart, no other is made),
   * or one found running at start (adopted). An adopted process that died
   * leaves a socket file nobody listens on; it is replaced. Returns whether
   * a new process was started.
   */
  async #ensureWireGuardGo(name: string): Promise<boolean> {
    const found = await this.#wg.checkWireGuardGo(name);
    if (found.kind === "supervised") {
      const st = found.status;
      if (st.state === "running") return false;
      this.#found(
        "wireguard-go",
        `wireguard-go for "${name}" ${st.lastError || "is restarting"}`,
      );
      throw new Error(
        `Cannot configure "${name}": wireguard-go is ${
          st.state === "backoff"
            ? `restarting in ${st.retryInMs} ms`
            : "starting"
        }${st.lastError ? ` (${st.lastError})` : ""}; the next pass retries`,
      );
    }
    if (found.kind === "adopted") {
      if (found.newly) {
        this.#log.info("adopted a running wireguard-go", { link: name });
      }
      return false;
    }
    if (found.lost !== undefined) {
      this.#found(
        "wireguard-go",
        `the adopted wireguard-go for "${name}" was gone${
          found.lost === "stale" ? " (stale socket removed)" : ""
        }`,
      );
    }
    const status = await this.#wg.startWireGuardGo(name);
    this.#log.info("started wireguard-go", { link: name, pid: status.pid });
    return true;
  }

  async ensureLink(
    link: MeshKernelState["link"],
    privateKey: string,
  ): Promise<void> {
    if (this.#keyPair?.privateKey !== privateKey) {
      this.#keyPair = {
        privateKey,
        publicKey: await derivePublicKey(privateKey as WgKey),
      };
    }
    const publicKey = this.#keyPair.publicKey;
    const wanted = JSON.stringify({ ...link, publicKey });
    // What we applied before and find changed now is a repair.
    const known = wanted === this.#appliedLink;
    let fresh = false;
    if (this.backend === "kernel") {
      if (!(await this.#linkExists(link.name))) {
        await this.#rt.createLink(link.name, "wireguard");
        fresh = true;
        if (known) this.#found("link", `link "${link.name}" was missing`);
        else {
          this.#log.info("created WireGuard link", {
            link: link.name,
            backend: "kernel",
          });
        }
      }
    } else {
      // a restarted wireguard-go (#deviceStale) brings a new, down link
      fresh = (await this.#ensureWireGuardGo(link.name)) || this.#deviceStale;
    }
    const current = await this.#rt.link(link.name);
    if (!current.up || current.mtu !== link.mtu) {
      if (known && !fresh) {
        this.#found(
          "link",
          `link "${link.name}" was ${
            current.up ? `at mtu ${current.mtu}` : "down"
          }`,
        );
      }
      await this.#rt.setLink(link.name, { mtu: link.mtu, up: true });
    }
    const device = await this.#wg.device(link.name);
    if (
      this.#deviceStale || device.publicKey !== publicKey ||
      device.listenPort !== link.listenPort ||
      device.firewallMark !== link.firewallMark
    ) {
      if (known && !fresh && !this.#deviceStale) {
        this.#found(
          "device",
          `device "${link.name}" lost its key, port or firewall mark`,
        );
      }
      await this.#wg.configure(link.name, {
        privateKey,
        listenPort: link.listenPort,
        firewallMark: link.firewallMark,
        ...(this.#deviceStale ? { replacePeers: true, peers: [] } : {}),
      });
      this.#deviceStale = false;
    }
    this.#appliedLink = wanted;
    this.#settle(["link", "device", "wireguard-go"]);
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
    const desired = {
      addresses: [{ ifname: state.link.name, address: state.address }],
      routes: state.routes.map((r) => ({
        destination: r.destination,
        device: r.device,
        table: r.table,
        metric: r.metric,
        mtu: r.mtu,
        scope: r.scope,
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
    };
    // Routes, rules and addresses are read from the kernel and diffed on
    // every pass; a change while the wish is the same is a repair.
    const report = await this.#rt.applyRouting(desired);
    const routingKey = JSON.stringify(desired);
    if (
      routingKey === this.#appliedRouting && report.added + report.removed > 0
    ) {
      this.#found(
        "routing",
        `${report.added} missing and ${report.removed} extra addresses, routes or rules`,
      );
    }
    this.#appliedRouting = routingKey;
    // The nft table is read back too: one deleted or edited by hand would
    // otherwise leave traffic to peers' networks unmarked, in clear.
    const spec = meshTableSpec({
      name: state.nft.table,
      ...state.nft,
      // marked traffic never leaves in clear, even while the link is gone
      tunnelLink: state.link.name,
    });
    const text = JSON.stringify(spec);
    let apply = text !== this.#appliedNft;
    if (!apply) {
      const drift = await this.#nft.verifyTable(spec);
      if (drift.length > 0) {
        this.#found("nft", drift.join("; "));
        apply = true;
      }
    }
    if (apply) {
      await this.#nft.replaceTable(spec);
      this.#appliedNft = text;
    }
    this.#settle(["routing", "nft"]);
    await this.#ensureWatch({
      link: state.link.name,
      nftTable: state.nft.table,
      routingTable: MeshConstants.routingTable,
      rulePriority: MeshConstants.rulePriority,
      meshAddress: state.address,
    });
    return apply
      ? { added: report.added + 1, removed: report.removed }
      : report;
  }

  /** Watches kernel events for `scope` (once it is all applied). */
  async #ensureWatch(scope: WatchScope): Promise<void> {
    if (!this.#watchKernel || this.#watchFailed) return;
    const current = this.#watch?.scope;
    if (current && JSON.stringify(current) === JSON.stringify(scope)) return;
    await this.#watch?.close();
    this.#watch = undefined;
    try {
      this.#watch = await KernelWatch.open(scope, {
        wake: (reason) => this.#wake(reason),
      });
    } catch (e) {
      // every pass still reads the kernel back; repairs wait for the tick
      this.#watchFailed = true;
      this.#log.warn("cannot watch kernel events; repairs wait for the tick", {
        error: e,
      });
    }
  }

  async cleanup(linkName: string, nftTable: string): Promise<void> {
    await this.#watch?.close();
    this.#watch = undefined;
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
    await this.#wg.stopWireGuardGo(linkName);
    this.#appliedLink = "";
    this.#appliedRouting = "";
    if (await this.#linkExists(linkName)) await this.#rt.deleteLink(linkName);
    this.#log.info("removed the mesh link, routes, rules and nft table", {
      link: linkName,
    });
  }

  async close(): Promise<void> {
    await this.#watch?.close();
    this.#watch = undefined;
    this.#rt.close();
    this.#nft.close();
    this.#wg.close();
  }
}
