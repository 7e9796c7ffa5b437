/**
 * The typed hook interfaces: one per hook group. Every decision in the
 * reconcile pipeline that a site may want to change is made behind one of
 * these, and the registry switches each plugin per site.
 *
 * @module
 */
import type { ConfigProblem, EdgespanConfig } from "../config/types.ts";
import type { LocalIdentity } from "../identity/identity.ts";
import type { Logger } from "../log/logger.ts";
import type {
  AffiliateRelayOffer,
  AffiliateSpec,
  EndpointSpec,
  PeerSearchSpec,
  PeerSpecSpec,
  PeerState,
  PeerStatusSpec,
  RelayPairSpec,
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

/**
 * The mesh pass a peer hook (endpoint filter and order, peer path) is
 * called in: one value for every peer of a pass, so a plugin can read the
 * agent's resources once per pass.
 */
export interface PassContext {
  /** Counts the mesh step's passes from 1; a new number is a new pass. */
  readonly passId: number;
  /** The pass's time, milliseconds since the epoch. */
  readonly now: number;
}

/** The peer an endpoint hook is asked about, in its pass. */
export interface EndpointPeer {
  publicKey: string;
  label: string;
  pass: PassContext;
}

/** Filters endpoint lists: what this node advertises, and what it accepts from peers. */
export interface EndpointFilterHooks {
  /** Filters this node's candidate addresses (no ports) in advertised order. */
  advertised(addresses: readonly string[]): string[];
  /** Filters a peer's `ip:port` endpoints before they are tried. */
  accepted(endpoints: readonly string[], peer: EndpointPeer): string[];
  /**
   * `ip:port` endpoints to publish after this node's `own` (e.g. its
   * learned NAT mappings). The core appends them after every own endpoint
   * (never ahead of one), without duplicates, within KubeSpan's 64.
   * Absent = none.
   */
  appended?(own: readonly string[]): string[];
}

/** What the endpoint order of one peer may depend on. */
export interface EndpointOrderContext extends EndpointPeer {
  /**
   * This box's node addresses with their prefix lengths (`10.0.1.2/24`):
   * the subnets it is on.
   */
  localPrefixes: readonly string[];
}

/** Orders a peer's accepted endpoints, best candidate first. */
export interface EndpointOrderHooks {
  /** The endpoints in the order to try them (the peer spec keeps this order). */
  order(endpoints: readonly string[], context: EndpointOrderContext): string[];
}

/** A peer selection plugin's own judgement of a peer's state. */
export interface PeerVerdict {
  state: PeerState;
  /** Why, in a few words (shown as the status's `reason`). */
  reason: string;
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
  /**
   * Whether the switch {@linkcode nextEndpoint} just asked for restarts the
   * peer's handshake (the peer is removed and added again, so WireGuard's
   * one initiation per 5 s does not hold the new endpoint back).
   * Absent = never (KubeSpan).
   */
  restartHandshake?(
    status: PeerStatusSpec,
    spec: PeerSpecSpec,
    now: number,
  ): boolean;
  /**
   * Overrides the state the KubeSpan state machine gave the peer after this
   * pass's selection; `undefined` (or absent) keeps it.
   */
  judge?(
    status: PeerStatusSpec,
    spec: PeerSpecSpec,
    now: number,
  ): PeerVerdict | undefined;
  /**
   * The peers this node searches a path to now, each since when, to
   * publish (coordinated simultaneous open: a peer aligns its own search
   * to it). Absent = none (KubeSpan).
   */
  searches?(): PeerSearchSpec[];
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

/** Says which destinations and replies never go through the tunnel. */
export interface TunnelBypassHooks {
  /**
   * Addresses that are never routed into the tunnel (e.g. the discovery
   * services: a node must reach them before any tunnel exists).
   */
  destinations(): Promise<string[]>;
  /** Local TCP ports whose replies are never marked (a service hosted on this box). */
  replyPorts(): number[];
}

/** What a path plugin decides for one peer this pass. */
export interface PathDecision {
  /** Shown as the status's `path` (`direct`, `relay:<label>`). */
  path: string;
  /**
   * The WireGuard endpoint to use instead of peer selection's (a relay
   * leg, or a direct candidate being probed); absent = peer selection
   * decides as usual.
   */
  endpoint?: string;
  /**
   * Remove and re-add the peer when {@linkcode endpoint} is new (only when
   * there is no session to keep). @default false
   */
  restartHandshake?: boolean;
  /** The state to show instead of the state machine's. */
  verdict?: PeerVerdict;
  /**
   * Set {@linkcode endpoint} again on each pass even when WireGuard roamed
   * away from it (a probe holding its candidate). @default false
   */
  hold?: boolean;
}

/** Chooses how a peer's packets travel: direct or through a relay. */
export interface PeerPathHooks {
  /**
   * This pass's path of a peer, asked before peer selection; a decision
   * with an endpoint replaces peer selection for the peer (it is neither
   * asked nor judged). `undefined` = direct, peer selection decides.
   * `pass` is the same for every peer of a pass (its `now` is the time).
   */
  decide(
    publicKey: string,
    status: PeerStatusSpec,
    spec: PeerSpecSpec,
    pass: PassContext,
  ): PathDecision | undefined;
  /** The relay offer this node publishes in its affiliate, if any. */
  offer(): AffiliateRelayOffer | undefined;
  /** What this node serves as a relay now; `undefined` when it serves none. */
  served(): RelayServed | undefined;
}

/** A relay's pairs (by resource id) and its refusals since start by kind. */
export interface RelayServed {
  pairs: ReadonlyMap<string, RelayPairSpec>;
  refusals: Readonly<Record<string, number>>;
}

/** Hook interface by hook group (plugin kind). */
export interface HookMap {
  discovery: DiscoveryHooks;
  endpointFilter: EndpointFilterHooks;
  endpointOrder: EndpointOrderHooks;
  peerSelection: PeerSelectionHooks;
  routeAdvertisement: RouteAdvertisementHooks;
  downPeerBypass: DownPeerBypassHooks;
  tunnelBypass: TunnelBypassHooks;
  peerPath: PeerPathHooks;
}

/** Hook groups; a plugin implements any subset of them. */
export type PluginKind = keyof HookMap;

/**
 * How the registry combines the enabled plugins of one hook:
 * `collect` calls every one and returns each answer by plugin name,
 * `parallel` does the same for an async hook (all run concurrently),
 * `sequential` pipes the first argument through each plugin in turn,
 * `first` returns the first enabled plugin's answer.
 */
export type Combination = "collect" | "parallel" | "sequential" | "first";

/**
 * The combinations a hook of signature `F` may use: `parallel` for an async
 * hook only, `sequential` only when the result can be fed back as the
 * first argument.
 */
export type AllowedCombination<F> = F extends (...args: infer A) => infer R
  ? R extends PromiseLike<unknown> ? "parallel"
  :
    | "collect"
    | "first"
    | (A extends readonly [infer V, ...unknown[]]
      ? [R] extends [V] ? "sequential" : never
      : never)
  : never;

/** The shape of {@linkcode HOOK_COMBINATION}: one combination per hook. */
export type HookTable = {
  readonly [K in PluginKind]: {
    readonly [M in keyof HookMap[K]]-?: AllowedCombination<
      NonNullable<HookMap[K][M]>
    >;
  };
};

/**
 * How several enabled plugins of one hook combine. The registry builds its
 * callers from this table, so a call site cannot pick another combination.
 */
export const HOOK_COMBINATION = {
  discovery: {
    publish: "parallel",
    affiliates: "collect",
    publicAddresses: "collect",
    leave: "parallel",
    health: "collect",
  },
  endpointFilter: {
    advertised: "sequential",
    accepted: "sequential",
    appended: "collect",
  },
  endpointOrder: { order: "sequential" },
  peerSelection: {
    nextEndpoint: "first",
    restartHandshake: "first",
    judge: "first",
    searches: "collect",
  },
  routeAdvertisement: { advertise: "collect" },
  downPeerBypass: { forcedPeers: "first" },
  tunnelBypass: { destinations: "parallel", replyPorts: "collect" },
  peerPath: { decide: "first", offer: "first", served: "first" },
} as const satisfies HookTable;

/** One plugin's answer to a `collect` or `parallel` hook. */
export interface PluginAnswer<R> {
  /** The plugin's name. */
  name: string;
  value: R;
}

/** The caller of one hook, typed by its combination `C` and signature `F`. */
export type HookCaller<C, F> = F extends (...args: infer A) => infer R
  ? C extends "collect" ? (...args: A) => PluginAnswer<R>[]
  : C extends "parallel" ? (...args: A) => Promise<PluginAnswer<Awaited<R>>[]>
  : C extends "sequential" ? (...args: A) => R
  : C extends "first" ? (...args: A) => R | undefined
  : never
  : never;

/**
 * The hooks facade: one typed caller per hook, combined per
 * {@linkcode HOOK_COMBINATION} (e.g. `hooks.endpointFilter.advertised(addrs)`
 * pipes `addrs` through every enabled endpoint filter). A plugin that throws
 * is reported and skipped (`first`: answers `undefined`).
 */
export type HookCallers = {
  readonly [K in PluginKind]: {
    readonly [M in keyof HookMap[K]]-?: M extends
      keyof (typeof HOOK_COMBINATION)[K]
      ? HookCaller<(typeof HOOK_COMBINATION)[K][M], NonNullable<HookMap[K][M]>>
      : never;
  };
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
  /**
   * The agent runs a one-shot command (such as `leave`) and no reconcile
   * loop: plugins that serve others (a hosted service) stay idle.
   */
  readonly oneShot: boolean;
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

/** The hook groups `G` of a plugin, each implemented in full. */
export type PluginHooks<G extends PluginKind> = { [K in G]: HookMap[K] };

/**
 * A running plugin: the hook groups `G` it implements plus its lifecycle
 * (a group it did not declare cannot be given).
 */
export type PluginInstance<G extends PluginKind, O> =
  & PluginHooks<G>
  & { [K in Exclude<PluginKind, G>]?: never }
  & PluginLifecycle<O>;

/** Result of parsing a plugin's options. */
export type OptionsResult<O> = { ok: true; options: O } | {
  ok: false;
  problems: ConfigProblem[];
};

/**
 * A built-in plugin: a name, its options, any subset of hook groups `G`
 * and an optional lifecycle. A plugin without hook groups (`hooks: []`) is
 * lifecycle only (e.g. a service hosted next to the agent).
 */
export interface PluginDefinition<
  G extends PluginKind = PluginKind,
  O = unknown,
> {
  /** Unique name, the key in the config's `plugins:` map (kebab-case). */
  readonly name: string;
  /** The hook groups {@linkcode create} implements. */
  readonly hooks: readonly G[];
  readonly version: string;
  /** One line for `edgespan get plugins`. */
  readonly description: string;
  /** Enabled when the site config does not mention it. */
  readonly defaultEnabled: boolean;
  /** Parses the entry's options (its keys except `enabled`). Absent = takes none. */
  parseOptions?(raw: Record<string, unknown>): OptionsResult<O>;
  create(ctx: PluginContext, options: O): NoInfer<PluginInstance<G, O>>;
}

/** Any plugin definition, whatever its hook groups and options. */
export interface AnyPluginDefinition {
  readonly name: string;
  readonly hooks: readonly PluginKind[];
  readonly version: string;
  readonly description: string;
  readonly defaultEnabled: boolean;
  // deno-lint-ignore no-explicit-any
  parseOptions?(raw: Record<string, unknown>): OptionsResult<any>;
  // deno-lint-ignore no-explicit-any
  create(ctx: PluginContext, options: any): AnyPluginInstance;
}

/** A running plugin of any shape, as the registry holds it. */
// deno-lint-ignore no-explicit-any
export type AnyPluginInstance = Partial<HookMap> & PluginLifecycle<any>;

/**
 * Declares a plugin; keeps the literal hook groups so that `create` must
 * return exactly those groups.
 *
 * @example A plugin with two hook groups
 * ```ts
 * import { definePlugin } from "./types.ts";
 *
 * const plugin = definePlugin({
 *   name: "lan-first",
 *   hooks: ["endpointFilter", "routeAdvertisement"],
 *   version: "1.0.0",
 *   description: "Advertises the LAN and keeps only LAN endpoints",
 *   defaultEnabled: false,
 *   create() {
 *     return {
 *       endpointFilter: {
 *         advertised: (addresses) => [...addresses],
 *         accepted: (endpoints) => endpoints.filter((e) => e.startsWith("192.168.")),
 *       },
 *       routeAdvertisement: { advertise: () => ["192.168.1.0/24"] },
 *     };
 *   },
 * });
 * ```
 */
export function definePlugin<
  const G extends PluginKind = never,
  O = Record<string, never>,
>(definition: PluginDefinition<G, O>): PluginDefinition<G, O> {
  return definition;
}

/** The hook groups of a plugin as one word for listings (`lifecycle` when none). */
export function pluginKindLabel(def: { hooks: readonly PluginKind[] }): string {
  return def.hooks.length ? def.hooks.join(",") : "lifecycle";
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
