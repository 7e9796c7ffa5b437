/**
 * The plugin API for site plugins: everything a plugin file needs, nothing
 * internal. A site plugin is one `.js`/`.ts` file whose default export is a
 * {@linkcode SitePlugin}; the site names it in its config and grants it
 * permissions:
 *
 * ```yaml
 * plugins:
 *   my-routes:
 *     module: /etc/edgespan/plugins/my_routes.js
 *     permissions: { read: ["/etc/edgespan/routes.json"] }
 *     file: /etc/edgespan/routes.json   # the plugin's own option
 * ```
 *
 * The agent runs it in its own Deno worker with only those permissions.
 * See PLUGINS.md for the hook kinds, how they combine and how to test one.
 *
 * @example A route-advertisement plugin
 * ```ts
 * import { apiVersion, definePlugin } from "./plugin.ts";
 *
 * export default definePlugin({
 *   apiVersion,
 *   version: "1.0.0",
 *   description: "Advertises one fixed network",
 *   hooks: ["routeAdvertisement"],
 *   create() {
 *     return { routeAdvertisement: { advertise: () => ["10.20.0.0/16"] } };
 *   },
 * });
 * ```
 *
 * @module
 */
import type { EdgespanConfig } from "./core/config/types.ts";
import type {
  HookMap,
  OptionsResult,
  PluginKind,
} from "./core/plugins/types.ts";
import type { PublicIdentity } from "./core/plugins/site.ts";

export type {
  DiscoveryHealth,
  DiscoveryHooks,
  DownPeerBypassHooks,
  EndpointFilterHooks,
  EndpointOrderContext,
  EndpointOrderHooks,
  EndpointPeer,
  HookMap,
  OptionsResult,
  PassContext,
  PeerView,
  PluginKind,
  RouteAdvertisementHooks,
  TunnelBypassHooks,
} from "./core/plugins/types.ts";
export type {
  AffiliateKubeSpan,
  AffiliateSpec,
  EndpointSpec,
  PeerSpecSpec,
  PeerState,
  PeerStatusSpec,
} from "./core/resources/specs.ts";
export type { ConfigProblem, EdgespanConfig } from "./core/config/types.ts";
export type { PublicIdentity } from "./core/plugins/site.ts";

/** The version of this API; a plugin declares the one it was written for. */
export const apiVersion = 1;

/**
 * Hook groups a site plugin may implement. `peerSelection` and `peerPath`
 * are left out: they decide per peer with the clock and live counters,
 * inside the pass, which a sandboxed plugin cannot answer synchronously.
 */
export type SitePluginKind = Exclude<PluginKind, "peerSelection" | "peerPath">;

/** Log fields: plain data. */
export type LogFields = Record<string, unknown>;

/** What a site plugin is given: a redacted view, no secret. */
export interface SitePluginContext {
  /** The key of its `plugins:` entry. */
  readonly pluginName: string;
  /** The site config in force, with `cluster.secret` replaced by "(redacted)". */
  readonly config: EdgespanConfig;
  /** The node's public identity (never the private key). */
  readonly identity: PublicIdentity;
  /** Lines go to the agent's log, tagged with the plugin's name. */
  readonly log: {
    debug(msg: string, fields?: LogFields): void;
    info(msg: string, fields?: LogFields): void;
    warn(msg: string, fields?: LogFields): void;
    error(msg: string, fields?: LogFields): void;
  };
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Aborted when the plugin is stopped. */
  readonly signal: AbortSignal;
  /** The agent runs a one-shot command and no reconcile loop. */
  readonly oneShot: boolean;
  /**
   * Tells the agent that this plugin's answers may have changed (new data
   * read): the agent asks every hook again, then reconciles.
   */
  requestReconcile(reason: string): void;
}

/** Lifecycle of a running site plugin; every method is optional. */
export interface SitePluginLifecycle<O> {
  /** Called once after `create`, under the start deadline (10 s). */
  start?(): Promise<void> | void;
  /** New options or a new site config (redacted). */
  reload?(options: O, config: EdgespanConfig): Promise<void> | void;
  /** Called when the plugin is disabled, replaced or the agent stops. */
  stop?(): Promise<void> | void;
}

/** A running site plugin: the declared hook groups `G` plus its lifecycle. */
export type SitePluginInstance<G extends SitePluginKind, O> =
  & { [K in G]: HookMap[K] }
  & { [K in Exclude<PluginKind, G>]?: never }
  & SitePluginLifecycle<O>;

/** The default export of a site plugin file. */
export interface SitePlugin<
  G extends SitePluginKind = SitePluginKind,
  O = unknown,
> {
  /** The API version it was written for ({@linkcode apiVersion}). */
  readonly apiVersion: number;
  /** The plugin's own version, shown by `edgespan get plugins`. */
  readonly version: string;
  /** One line for `edgespan get plugins`. */
  readonly description: string;
  /** The hook groups {@linkcode create} implements. */
  readonly hooks: readonly G[];
  /**
   * Parses the entry's options (its keys except `enabled`, `module` and
   * `permissions`); problems are config problems at `plugins.<name>.<path>`.
   * Absent = takes none.
   */
  parseOptions?(raw: Record<string, unknown>): OptionsResult<O>;
  /** Builds the running plugin from its context and parsed options. */
  create(
    ctx: SitePluginContext,
    options: O,
  ): NoInfer<SitePluginInstance<G, O>>;
}

/**
 * Declares a site plugin (an identity function that keeps the literal hook
 * groups, so `create` must return exactly those).
 */
export function definePlugin<
  const G extends SitePluginKind = never,
  O = Record<string, never>,
>(plugin: SitePlugin<G, O>): SitePlugin<G, O> {
  return plugin;
}
