/**
 * The typed hook interfaces: one per plugin kind. Every decision in the
 * reconcile pipeline that a site may want to change is made behind one of
 * these, and the registry switches each plugin per site.
 *
 * @module
 */
import type { ConfigProblem, EdgespanConfig } from "../config/types.ts";
import type { LocalIdentity } from "../identity/identity.ts";
import type { Logger } from "../log/logger.ts";
import type {
  AffiliateSpec,
  EndpointSpec,
  PeerSpecSpec,
  PeerStatusSpec,
} from "../resources/specs.ts";
import type { Resource } from "../resources/store.ts";

/** Connection state of one discovery source, for readiness and metrics. */
export interface DiscoveryHealth {
  /** `connected`: live; `connecting`: retrying; `cached`: serving a saved view; `static`: config only. */
  state: "connected" | "connecting" | "cached" | "static";
  /** Human-readable detail (last error, endpoint). */
  detail: string;
  /** Round-trip of the latest call in ms, when known. */
  latencyMs?: number;
}

/** Finds peers: publishes this node and reports the others. */
export interface DiscoveryHooks {
  /**
   * Publishes (or refreshes) the local affiliate. `observed` holds endpoints
   * at which other nodes were reached, to report for them when harvesting is on.
   */
  publish(
    local: AffiliateSpec,
    observed: readonly EndpointSpec[],
  ): Promise<void>;
  /** This source's current view of the other nodes. */
  affiliates(): AffiliateSpec[];
  /** Addresses the source sees this node at (e.g. the discovery Hello client IP). */
  publicAddresses(): string[];
  /** Removes the local affiliate, when the node leaves the mesh. */
  leave?(): Promise<void>;
  health(): DiscoveryHealth;
}

/** Filters endpoint lists: what this node advertises, and what it accepts from peers. */
export interface EndpointFilterHooks {
  /** Filters this node's candidate addresses (no ports) in advertised order. */
  advertised(addresses: readonly string[]): string[];
  /** Filters a peer's `ip:port` endpoints before they are tried. */
  accepted(
    endpoints: readonly string[],
    peer: { publicKey: string; label: string },
  ): string[];
}

/** Picks the endpoint to try next for a peer. */
export interface PeerSelectionHooks {
  /**
   * The endpoint to switch to now, or `undefined` to keep the current one.
   * `now` is milliseconds since the epoch.
   */
  nextEndpoint(
    status: PeerStatusSpec,
    spec: PeerSpecSpec,
    now: number,
  ): string | undefined;
}

/** Says which networks this node routes for the mesh. */
export interface RouteAdvertisementHooks {
  /** Prefixes to advertise (the union over plugins is published). */
  advertise(): string[];
}

/** A peer as the bypass decision sees it. */
export interface PeerView {
  publicKey: string;
  spec: PeerSpecSpec;
  status: PeerStatusSpec | undefined;
}

/** Decides which peers' prefixes are forced into the tunnel. */
export interface DownPeerBypassHooks {
  /**
   * Public keys of peers whose allowed IPs go into the marking sets. A peer
   * left out is reached by normal routing, i.e. in clear.
   */
  forcedPeers(peers: readonly PeerView[]): Set<string>;
}

/** Hook interface by plugin kind. */
export interface HookMap {
  discovery: DiscoveryHooks;
  endpointFilter: EndpointFilterHooks;
  peerSelection: PeerSelectionHooks;
  routeAdvertisement: RouteAdvertisementHooks;
  downPeerBypass: DownPeerBypassHooks;
}

/** Plugin kinds. */
export type PluginKind = keyof HookMap;

/**
 * How the registry combines several enabled plugins of one kind:
 * `parallel` calls all and merges, `sequential` pipes output to the next,
 * `first` uses the first enabled one.
 */
export const HOOK_COMBINATION: Readonly<
  Record<PluginKind, "parallel" | "sequential" | "first">
> = {
  discovery: "parallel",
  endpointFilter: "sequential",
  peerSelection: "first",
  routeAdvertisement: "parallel",
  downPeerBypass: "first",
};

/** What a plugin instance is given. */
export interface PluginContext {
  readonly pluginName: string;
  /** The site config in force (plugins are built in and trusted with the secret). */
  readonly config: EdgespanConfig;
  readonly identity: LocalIdentity;
  readonly log: Logger;
  /** Milliseconds since the epoch; tests inject their own clock. */
  readonly now: () => number;
  /** Aborted when the plugin is stopped. */
  readonly signal: AbortSignal;
  /** Asks the agent to reconcile soon (coalesced). */
  requestReconcile(reason: string): void;
  /** Read access to the agent's resources (redacted). */
  listResources<S>(type: string): Resource<S>[];
}

/** Lifecycle of a running plugin; every method is optional. */
export interface PluginLifecycle<O> {
  start?(): Promise<void> | void;
  /** New options or a new site config; the plugin keeps its state where it can. */
  reload?(options: O, config: EdgespanConfig): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/** A running plugin of kind K. */
export type PluginInstance<K extends PluginKind, O> =
  & HookMap[K]
  & PluginLifecycle<O>;

/** Result of parsing a plugin's options. */
export type OptionsResult<O> = { ok: true; options: O } | {
  ok: false;
  problems: ConfigProblem[];
};

/** A built-in plugin. */
export interface PluginDefinition<
  K extends PluginKind = PluginKind,
  O = unknown,
> {
  /** Unique name, the key in the config's `plugins:` map (kebab-case). */
  readonly name: string;
  readonly kind: K;
  readonly version: string;
  /** One line for `edgespan get plugins`. */
  readonly description: string;
  /** Enabled when the site config does not mention it. */
  readonly defaultEnabled: boolean;
  /** Parses the entry's options (its keys except `enabled`). Absent = takes none. */
  parseOptions?(raw: Record<string, unknown>): OptionsResult<O>;
  create(ctx: PluginContext, options: O): PluginInstance<K, O>;
}

/** Any plugin definition, whatever its kind and options. */
// deno-lint-ignore no-explicit-any
export type AnyPluginDefinition = PluginDefinition<PluginKind, any>;

/** Identity helper that keeps the literal kind for type inference. */
export function definePlugin<K extends PluginKind, O = Record<string, never>>(
  definition: PluginDefinition<K, O>,
): PluginDefinition<K, O> {
  return definition;
}

/** A plugin failed; the message names it. */
export class PluginError extends Error {
  readonly plugin: string;
  readonly operation: string;
  constructor(plugin: string, operation: string, cause: unknown) {
    super(
      `Plugin "${plugin}" failed in ${operation}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "PluginError";
    this.plugin = plugin;
    this.operation = operation;
  }
}
