/**
 * The running agent: config → identity → plugins → reconcile loop → resources.
 *
 * It knows no netlink, HTTP or discovery wire format: the host's addresses
 * and the mesh step (kernel state) are injected, and everything a site may
 * change is a plugin.
 *
 * @module
 */
import { loadConfig } from "./config/load.ts";
import type { EdgespanConfig } from "./config/types.ts";
import {
  describeIdentity,
  type LocalIdentity,
  resolveIdentity,
} from "./identity/identity.ts";
import { createLogger, type Logger } from "./log/logger.ts";
import {
  logEvent,
  trackDiscovery,
  type TrackedDiscovery,
} from "./log/events.ts";
import { buildLocalAffiliate } from "./mesh/local_affiliate.ts";
import { mergeAffiliates } from "./mesh/merge.ts";
import {
  type AddressScope,
  type HostAddress,
  nodeAddressPrefixes,
} from "./mesh/node_addresses.ts";
import { formatIP, formatPrefix } from "./netaddr/ip.ts";
import { isEnabled, knownPlugins, PluginRegistry } from "./plugins/registry.ts";
import {
  loadSitePlugins,
  type SitePluginDefinition,
  type SitePluginLoader,
} from "./plugins/site.ts";
import type {
  AnyPluginDefinition,
  DiscoveryHealth,
  PluginAnswer,
  RelayServed,
} from "./plugins/types.ts";
import { ReconcileLoop, type ReconcileStats } from "./reconcile/loop.ts";
import { RESOURCE_DEFINITIONS, ResourceType } from "./resources/definitions.ts";
import type {
  AffiliateSpec,
  EndpointSpec,
  PeerStatusSpec,
} from "./resources/specs.ts";
import { ResourceStore } from "./resources/store.ts";
import type { DataplaneHealth } from "./mesh/dataplane.ts";
import {
  MeshPassError,
  type MeshPassResult,
  type MeshStep,
} from "./mesh/types.ts";
import { closestName } from "./config/did_you_mean.ts";
import { recordPeerStatuses, Timeline } from "./timeline.ts";
import {
  handshakeLanded,
  type HandshakePollState,
  nextHandshakePoll,
} from "./reconcile/handshake_poll.ts";

/**
 * Where the agent learns the box's own addresses. It reports every address
 * with its link's state; the agent picks the node addresses from them
 * ({@linkcode nodeAddressPrefixes}).
 */
export interface HostAddressSource {
  /** Every address on the box's links, with the link's state. */
  addresses(): Promise<HostAddress[]>;
}

/** Something started next to the agent (the local API). */
export interface Attachment {
  /** Stops it; called when the agent stops. */
  close(): Promise<void>;
}

/** Options for {@linkcode Agent.start}. */
export interface AgentOptions {
  configPath: string;
  plugins: readonly AnyPluginDefinition[];
  /** @default addresses from Deno.networkInterfaces() */
  hostAddresses?: HostAddressSource;
  /** Kernel state step; absent = compute resources only. */
  mesh?: MeshStep;
  /** @default a logger per the config's log section, on stderr */
  log?: Logger;
  /** @default Date.now */
  now?: () => number;
  /** Agent version for the published OS string. @default "dev" */
  version?: string;
  /** sysfs root for the MAC lookup (tests). @default "/sys/class/net" */
  sysfsRoot?: string;
  /** Start the reconcile loop (false for one-shot commands such as `leave`). @default true */
  startLoop?: boolean;
  /** Loads the site plugins a config names (`module:`). @default none: such a config is refused */
  sitePlugins?: SitePluginLoader;
  /** Where start-up and peer steps are recorded. @default a new one on performance.now */
  timeline?: Timeline;
}

/** Outcome of the config loads, for `/metrics`. */
export interface ReloadStats {
  /** Whether the latest load (start or reload) succeeded. */
  lastOk: boolean;
  /** ms since the epoch of the latest successful load. */
  lastSuccessAt: number;
  /** Failed reloads since start. */
  failures: number;
}

/** The answer of {@linkcode Agent.readiness}. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

/** Thrown by {@linkcode Agent.setPluginEnabled} for a name that is not a plugin. */
export class UnknownPluginError extends Error {
  constructor(name: string, known: readonly string[]) {
    const hint = closestName(name, known);
    super(
      `Cannot find plugin "${name}"${
        hint ? `: did you mean "${hint}"?` : ""
      } (known: ${known.join(", ")})`,
    );
    this.name = "UnknownPluginError";
  }
}

function scopeOf(address: string): AddressScope {
  const lower = address.toLowerCase();
  if (lower.startsWith("127.") || lower === "::1") return "host";
  return /^(169\.254\.|fe[89ab][0-9a-f]:)/.test(lower) ? "link" : "global";
}

/**
 * Reads addresses with `Deno.networkInterfaces()`, for where netlink is not
 * available. It cannot see link state, so every link counts as up.
 */
export const systemAddresses: HostAddressSource = {
  addresses() {
    return Promise.resolve(
      Deno.networkInterfaces().map((nic) => ({
        address: `${nic.address.split("%")[0]}${
          nic.cidr.includes("/") ? nic.cidr.slice(nic.cidr.indexOf("/")) : ""
        }`,
        link: nic.name,
        scope: scopeOf(nic.address),
        linkState: { operational: true, physical: false, carrier: true },
      })),
    );
  },
};

/**
 * The agent: loads the config, resolves the node's identity, runs the
 * plugins and the reconcile loop, and keeps every result in {@linkcode store}.
 *
 * @example A one-shot agent without plugins or kernel state
 * ```ts
 * import { ok } from "node:assert";
 * import { Agent } from "./agent.ts";
 * import { silentLogger } from "./log/logger.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const secret = btoa("k".repeat(32));
 * await Deno.writeTextFile(
 *   `${dir}/config.yaml`,
 *   `cluster: { id: demo, secret: "${secret}" }\nnode: { stateDir: ${dir} }\n`,
 * );
 * const agent = await Agent.start({
 *   configPath: `${dir}/config.yaml`,
 *   plugins: [],
 *   hostAddresses: { addresses: () => Promise.resolve([]) },
 *   log: silentLogger(),
 *   startLoop: false,
 * });
 * try {
 *   const [identity] = agent.store.list<{ address: string }>("identity");
 *   ok(identity?.spec.address.startsWith("fd"), "a ULA mesh address");
 * } finally {
 *   await agent.stop();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class Agent {
  readonly store: ResourceStore;
  readonly registry: PluginRegistry;
  readonly identity: LocalIdentity;
  readonly log: Logger;
  /** Start-up and per-peer steps on the monotonic clock. */
  readonly timeline: Timeline;
  #config: EdgespanConfig;
  readonly #options: AgentOptions;
  readonly #loop: ReconcileLoop;
  readonly #now: () => number;
  readonly #overrides = new Map<string, boolean>();
  #discovery = new Map<string, TrackedDiscovery>();
  #reloads: ReloadStats;
  #left = false;
  #handshakePoll: HandshakePollState | undefined;

  private constructor(
    options: AgentOptions,
    config: EdgespanConfig,
    identity: LocalIdentity,
    store: ResourceStore,
    log: Logger,
  ) {
    this.#options = options;
    this.#config = config;
    this.identity = identity;
    this.store = store;
    this.log = log;
    this.#now = options.now ?? Date.now;
    // The first load counts as a successful one, as in Prometheus.
    this.#reloads = { lastOk: true, lastSuccessAt: this.#now(), failures: 0 };
    this.timeline = options.timeline ?? new Timeline();
    this.registry = new PluginRegistry(options.plugins, {
      store,
      log,
      now: this.#now,
      requestReconcile: (reason) => this.requestReconcile(reason),
      oneShot: !(options.startLoop ?? true),
    });
    this.#loop = new ReconcileLoop({
      intervalMs: config.reconcileIntervalMs,
      pass: (reason) => this.#pass(reason),
      onError: (e) => this.log.error("reconcile failed", { error: e }),
    });
  }

  /**
   * Loads and validates the config, resolves the identity, starts the
   * enabled plugins and the reconcile loop. Throws `ConfigError` or
   * `IdentityError` before changing anything when either is unusable.
   */
  static async start(options: AgentOptions): Promise<Agent> {
    const timeline = options.timeline ?? new Timeline();
    const config = await loadConfig(options.configPath, {
      plugins: knownPlugins(options.plugins),
    });
    const site = await loadSitePlugins(
      options.sitePlugins,
      config,
      options.configPath,
    );
    timeline.mark("configReady");
    const log = options.log ??
      createLogger({ format: config.log.format, level: config.log.level });
    const identity = await resolveIdentity(
      { clusterId: config.cluster.id, stateDir: config.node.stateDir },
      {
        excludeLinks: [config.wireguard.interface],
        ...(options.sysfsRoot ? { sysfsRoot: options.sysfsRoot } : {}),
      },
    );
    timeline.mark("identityReady");
    log.info("identity ready", {
      identity: describeIdentity(identity),
      nodeId: identity.nodeId,
    });
    const store = new ResourceStore(
      RESOURCE_DEFINITIONS,
      options.now ?? Date.now,
    );
    const agent = new Agent(
      { ...options, timeline },
      config,
      identity,
      store,
      log,
    );
    store.set(ResourceType.identity, "local", identity.spec);
    store.set(ResourceType.config, "kubespan", config);
    await agent.#startPlugins(site);
    timeline.mark("pluginsStarted");
    if (options.startLoop ?? true) agent.#loop.start();
    return agent;
  }

  /** The config in force (with runtime plugin switches applied). */
  get config(): EdgespanConfig {
    return this.#effectiveConfig();
  }

  /** Reconcile counters. */
  get reconcileStats(): ReconcileStats {
    return { ...this.#loop.stats };
  }

  /** Kernel repairs of the mesh dataplane; undefined without one. */
  meshHealth(): DataplaneHealth | undefined {
    return this.#options.mesh?.health?.();
  }

  #effectiveConfig(): EdgespanConfig {
    if (this.#overrides.size === 0) return this.#config;
    const plugins = { ...this.#config.plugins };
    for (const [name, enabled] of this.#overrides) {
      plugins[name] = { options: {}, ...plugins[name], enabled };
    }
    return { ...this.#config, plugins };
  }

  /** Asks for a reconcile pass soon. */
  requestReconcile(reason: string): void {
    if (!this.timeline.has("discoveryConnected") && this.#discoveryLive()) {
      this.timeline.mark("discoveryConnected");
    }
    this.#loop.request(reason);
  }

  /** Resolves once no pass is running or queued. */
  settle(): Promise<void> {
    return this.#loop.idle();
  }

  /**
   * Re-reads the config file. An invalid file changes nothing and the error
   * (a `ConfigError` listing every problem) is thrown to the caller.
   */
  async reload(): Promise<void> {
    try {
      await this.#reload();
      this.#reloads = {
        ...this.#reloads,
        lastOk: true,
        lastSuccessAt: this.#now(),
      };
    } catch (e) {
      this.#reloads = {
        ...this.#reloads,
        lastOk: false,
        failures: this.#reloads.failures + 1,
      };
      throw e;
    }
  }

  /** Outcome of the config loads (for `/metrics`). */
  get reloadStats(): ReloadStats {
    return { ...this.#reloads };
  }

  async #reload(): Promise<void> {
    const config = await loadConfig(this.#options.configPath, {
      plugins: knownPlugins(this.#options.plugins),
    });
    if (
      config.cluster.id !== this.#config.cluster.id ||
      config.node.stateDir !== this.#config.node.stateDir
    ) {
      throw new Error(
        "Cannot reload: cluster.id and node.stateDir change the node's identity; restart the agent instead",
      );
    }
    const site = await loadSitePlugins(
      this.#options.sitePlugins,
      config,
      this.#options.configPath,
    );
    this.#config = config;
    this.#loop.setInterval(config.reconcileIntervalMs);
    this.store.set(ResourceType.config, "kubespan", config);
    await this.#startPlugins(site);
    // The one rule: run-time plugin switches survive a reload (they are
    // dropped on restart); the log line names the ones kept.
    this.log.info("config reloaded", {
      file: this.#options.configPath,
      ...(this.#overrides.size
        ? {
          pluginOverridesKept: [...this.#overrides].map(([n, on]) =>
            `${n}=${on ? "enabled" : "disabled"}`
          ).join(","),
        }
        : {}),
    });
    this.requestReconcile("reload");
  }

  /** Puts the site plugins in place, then brings every plugin in line with the config. */
  async #startPlugins(site: SitePluginDefinition[]): Promise<void> {
    await this.registry.setSitePlugins(site);
    await this.registry.apply(this.#effectiveConfig(), this.identity);
  }

  /** Built-in and site plugins. */
  #pluginNames(): string[] {
    return this.registry.definitions().map((p) => p.name);
  }

  /** Switches a plugin at run time (until restart or the next explicit change). */
  async setPluginEnabled(name: string, enabled: boolean): Promise<void> {
    const names = this.#pluginNames();
    if (!names.includes(name)) throw new UnknownPluginError(name, names);
    this.#overrides.set(name, enabled);
    await this.registry.apply(this.#effectiveConfig(), this.identity);
    this.log.info(enabled ? "plugin enabled" : "plugin disabled", {
      plugin: name,
    });
    this.requestReconcile(`plugin ${name} ${enabled ? "enabled" : "disabled"}`);
  }

  #discoveryLive(): boolean {
    return this.discoveryHealth().some((d) => d.value.state === "connected");
  }

  /**
   * What this node serves as a relay now (`undefined` when none). A look
   * only: the `relaypairs` resources are written by the pass.
   */
  relayServed(): RelayServed | undefined {
    return this.registry.hooks.peerPath.served();
  }

  /** Discovery health by plugin name. */
  discoveryHealth(): PluginAnswer<DiscoveryHealth>[] {
    return this.registry.hooks.discovery.health();
  }

  /**
   * Discovery connections with the time each entered its state, as of
   * now. A look only: the pass records the states and logs a lost or
   * regained connection.
   */
  discoveryStatus(): TrackedDiscovery[] {
    return [...this.#trackDiscovery().tracked.values()];
  }

  #trackDiscovery(): ReturnType<typeof trackDiscovery> {
    return trackDiscovery(
      this.#discovery,
      this.discoveryHealth().map((d) => ({ name: d.name, ...d.value })),
      this.#now(),
    );
  }

  /** Ready = config valid, identity present, discovery reachable or cached, mesh checks pass. */
  readiness(): Readiness {
    const checks: Record<string, { ok: boolean; detail: string }> = {
      config: { ok: true, detail: this.#options.configPath },
      identity: { ok: true, detail: this.identity.spec.publicKey },
    };
    const discovery = this.discoveryHealth();
    const anyDiscovery = this.registry.definitions().some((p) =>
      p.hooks.includes("discovery") && isEnabled(p, this.#effectiveConfig())
    );
    if (anyDiscovery) {
      const good = discovery.filter((d) => d.value.state !== "connecting");
      checks.discovery = {
        ok: good.length > 0,
        detail: discovery.map((d) =>
          `${d.name}: ${d.value.state}${
            d.value.detail ? ` (${d.value.detail})` : ""
          }`
        )
          .join("; ") || "no discovery plugin is running",
      };
    }
    Object.assign(checks, this.#options.mesh?.checks?.() ?? {});
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /**
   * One reconcile, in the order of the design's data flow: node addresses →
   * local affiliate (endpoint filters, route advertisement) → discovery
   * (publish, then the remote affiliates) → mesh step (peer specs,
   * statuses, kernel state) → resources.
   */
  async #pass(reason: string): Promise<void> {
    const config = this.#effectiveConfig();
    const now = this.#now();
    this.log.debug("reconcile", { reason });
    const node = await this.#nodeAddresses(config);
    const local = this.#localAffiliate(config, node.addresses);
    await this.#publish(config, local);
    const discovery = this.#trackDiscovery();
    this.#discovery = discovery.tracked;
    for (const e of discovery.events) logEvent(this.log, e);
    const remote = this.#remoteAffiliates(local);
    for (const a of remote) {
      if (a.kubespan) {
        this.timeline.peer(a.kubespan.publicKey, a.hostname, "known");
      }
    }
    this.store.replaceAll(
      ResourceType.affiliates,
      new Map([
        [local.nodeId, local],
        ...remote.map((a) => [a.nodeId, a] as const),
      ]),
    );
    this.store.replaceAll(
      ResourceType.relaypairs,
      this.relayServed()?.pairs ?? new Map(),
    );
    const mesh = this.#options.mesh;
    if (!mesh) return this.timeline.mark("firstPass");
    try {
      const result = await mesh.pass({
        config,
        identity: this.identity,
        remote,
        hooks: this.registry.hooks,
        previous: this.#peerStatuses(),
        log: this.log,
        now,
        localPrefixes: node.prefixes,
      });
      this.timeline.mark("firstPass");
      recordPeerStatuses(this.timeline, result.peerstatuses, {
        mono: this.timeline.now(),
        wall: this.#now(),
      });
      // handshakes are no events: look again soon while peers wait for one
      const poll = nextHandshakePoll(
        this.#handshakePoll,
        result.peerstatuses,
        this.timeline.now(),
      );
      this.#handshakePoll = poll.state;
      if (poll.delayMs !== undefined && this.config.handshakePoll) {
        this.#lookForHandshakes(poll.delayMs, result.peerstatuses);
      }
      this.#storeMesh(result);
    } catch (e) {
      if (!(e instanceof MeshPassError)) throw e;
      this.#storeMesh(e.partial);
      throw e.cause;
    }
  }

  /**
   * In `delayMs`, reads the device (a look, far cheaper than a pass) and
   * runs a pass only when a waiting peer's handshake landed; otherwise
   * looks again later, backing off as the poll says. Without a look on the
   * mesh step, a pass.
   */
  #lookForHandshakes(
    delayMs: number,
    statuses: ReadonlyMap<string, PeerStatusSpec>,
  ): void {
    const peers = this.#options.mesh?.peers;
    if (!peers) return this.#loop.after(delayMs, "waiting for handshakes");
    this.#loop.lookAfter(delayMs, "handshake landed", async () => {
      if (handshakeLanded(statuses, await peers())) return true;
      const next = nextHandshakePoll(
        this.#handshakePoll,
        statuses,
        this.timeline.now(),
      );
      this.#handshakePoll = next.state;
      if (next.delayMs !== undefined) {
        this.#lookForHandshakes(next.delayMs, statuses);
      }
      return false;
    });
  }

  /**
   * The box's node addresses (pod networks are never node addresses), and
   * the same with prefix lengths (the subnets it is on).
   */
  async #nodeAddresses(
    config: EdgespanConfig,
  ): Promise<{ addresses: string[]; prefixes: string[] }> {
    const hostAddresses = this.#options.hostAddresses ?? systemAddresses;
    const host = await hostAddresses.addresses();
    const options = {
      excludeLinks: [config.wireguard.interface],
      excludedRanges: config.advertise.kubernetesNetworks,
    };
    const prefixes = nodeAddressPrefixes(host, options);
    return {
      addresses: prefixes.map((p) => formatIP(p.ip)),
      prefixes: prefixes.map(formatPrefix),
    };
  }

  #localAffiliate(
    config: EdgespanConfig,
    nodeAddresses: readonly string[],
  ): AffiliateSpec {
    const hooks = this.registry.hooks;
    const publicAddresses = hooks.discovery.publicAddresses()
      .flatMap((r) => r.value);
    const advertised = hooks.routeAdvertisement.advertise()
      .flatMap((r) => r.value);
    const local = buildLocalAffiliate({
      nodeId: this.identity.nodeId,
      hostname: config.node.hostname ?? Deno.hostname(),
      kubespanEnabled: config.kubespan.enabled,
      publicKey: this.identity.spec.publicKey,
      meshAddress: this.identity.spec.address.split("/")[0]!,
      nodeAddresses,
      publicAddresses: [...new Set(publicAddresses)],
      excludedRanges: config.advertise.kubernetesNetworks,
      filterEndpoints: (addrs) => hooks.endpointFilter.advertised(addrs),
      appendEndpoints: (own) =>
        hooks.endpointFilter.appended(own).flatMap((r) => r.value ?? []),
      listenPort: config.wireguard.listenPort,
      extraAnnouncedEndpoints: config.kubespan.extraAnnouncedEndpoints,
      advertisedNetworks: [...new Set(advertised)],
      excludeAdvertisedNetworks:
        config.kubespan.filters.excludeAdvertisedNetworks,
      operatingSystem: `edgespan (${this.#options.version ?? "dev"})`,
      machineType: config.node.machineType,
      ...(config.node.controlPlane
        ? { controlPlane: { apiServerPort: config.node.apiServerPort } }
        : {}),
    });
    // A relay offer travels in edgespan's extension (Talos skips it).
    const relay = hooks.peerPath.offer();
    if (relay && local.kubespan) {
      local.edgespan = {
        advertised: [...local.kubespan.endpoints],
        observed: [],
        relay,
      };
    }
    // So do the searches in progress (coordinated simultaneous open).
    const searching = hooks.peerSelection.searches()
      .flatMap((r) => r.value ?? []);
    if (searching.length && local.kubespan) {
      local.edgespan = {
        advertised: [...local.kubespan.endpoints],
        observed: [],
        ...local.edgespan,
        searching,
      };
    }
    return local;
  }

  /** Publishes this node (after leave() never again), with harvested endpoints. */
  async #publish(config: EdgespanConfig, local: AffiliateSpec): Promise<void> {
    if (this.#left) return;
    const observed = config.kubespan.harvestExtraEndpoints
      ? this.store.list<EndpointSpec>(ResourceType.endpoints).map((r) => r.spec)
      : [];
    await this.registry.hooks.discovery.publish(local, observed);
  }

  /** Every discovery source's view, merged; an unsourced affiliate gets the plugin's name. */
  #remoteAffiliates(local: AffiliateSpec): AffiliateSpec[] {
    return mergeAffiliates(
      this.registry.hooks.discovery.affiliates().map(({ name, value }) =>
        value.map((a) => ({
          ...a,
          sources: a.sources.length ? a.sources : [name],
        }))
      ),
    ).filter((a) => a.nodeId !== local.nodeId);
  }

  #peerStatuses(): Map<string, PeerStatusSpec> {
    return new Map(
      this.store.list<PeerStatusSpec>(ResourceType.peerstatuses).map((r) =>
        [r.id, r.spec] as const
      ),
    );
  }

  /** Stores a mesh pass's output; a part it did not produce is left as it was. */
  #storeMesh(result: Partial<MeshPassResult>): void {
    const { peerspecs, peerstatuses, endpoints } = result;
    if (peerspecs) this.store.replaceAll(ResourceType.peerspecs, peerspecs);
    if (peerstatuses) {
      this.store.replaceAll(ResourceType.peerstatuses, peerstatuses);
    }
    if (endpoints) this.store.replaceAll(ResourceType.endpoints, endpoints);
  }

  /**
   * Removes this node from every discovery service (AffiliateDelete), so
   * peers drop it at once instead of waiting for the TTL. Publishing stops
   * first, so a running loop cannot publish the node again.
   */
  async leave(): Promise<string[]> {
    this.#left = true;
    const done = await this.registry.hooks.discovery.leave();
    return done.map((d) => d.name);
  }

  /**
   * Stops the loop and the plugins. With `cleanup` the mesh step removes
   * the link, routes, rules and nft table; otherwise they stay so traffic
   * keeps flowing across an agent restart or upgrade.
   */
  async stop(options: { cleanup?: boolean } = {}): Promise<void> {
    await this.#loop.stop();
    await this.registry.stopAll();
    if (options.cleanup) await this.#options.mesh?.cleanup?.(this.#config);
    await this.#options.mesh?.close?.();
    this.log.info("agent stopped", { cleanup: options.cleanup ?? false });
  }
}
