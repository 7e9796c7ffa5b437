/**
 * Site plugins: plugins a site writes itself, loaded from a file named in
 * its config (`plugins: { my-routes: { module: /etc/edgespan/x.js } }`).
 * The core only knows the port ({@linkcode SitePluginLoader}); the loader
 * that reads the file and runs it in a sandboxed worker is an adapter
 * (`plugins/external/`), injected by the composition root.
 *
 * @module
 */
import type {
  ConfigProblem,
  EdgespanConfig,
  PluginPermissions,
} from "../config/types.ts";
import { ConfigError } from "../config/load.ts";
import type { LocalIdentity } from "../identity/identity.ts";
import type { AnyPluginDefinition } from "./types.ts";

export type { PluginPermissions };

/** The API versions of `plugin.ts` this agent can run. */
export const SUPPORTED_API_VERSIONS: readonly number[] = [1];

/** A `plugins:` entry naming a module: what the loader is asked to load. */
export interface SitePluginEntry {
  /** The entry's key, the plugin's name. */
  name: string;
  /** Absolute path of the `.js`/`.ts` file. */
  module: string;
  /** What the plugin's worker may do; absent kinds are denied. */
  permissions: PluginPermissions;
  /** The entry's own options (every key except `enabled`, `module`, `permissions`). */
  options: Record<string, unknown>;
  enabled: boolean;
}

/** Where a plugin comes from, as `get plugins` shows it. */
export interface PluginSource {
  /** `built-in`, or the module's path. */
  source: string;
  /** sha256 of the module's bytes (hex); absent for built-ins. */
  sha256?: string;
  /** The permissions granted, one `kind:value` per grant (`net:cmdb:443`). */
  permissions?: string[];
}

/** A loaded site plugin: a definition the registry runs, with its origin. */
export interface SitePluginDefinition extends AnyPluginDefinition {
  readonly origin: PluginSource;
}

/** The outcome of loading every site plugin of one config. */
export type SiteLoadResult =
  | { ok: true; definitions: SitePluginDefinition[] }
  | { ok: false; problems: ConfigProblem[] };

/** What a loader needs besides the entries. */
export interface SiteLoadContext {
  config: EdgespanConfig;
  /** The config file (its path is never readable by a plugin: it holds the secret). */
  configPath: string;
}

/**
 * Loads site plugins. `load` is called at start, on every reload and by
 * `edgespan validate`; it keeps nothing running (a definition starts its
 * own sandbox when the registry creates it), so a rejected reload leaves
 * the running plugins untouched.
 */
export interface SitePluginLoader {
  /** Loads and checks every entry: problems carry the field path. */
  load(
    entries: readonly SitePluginEntry[],
    context: SiteLoadContext,
  ): Promise<SiteLoadResult>;
}

/**
 * The hook answer is not known yet (a sandboxed plugin answers a
 * synchronous hook from its latest answer for the same input, and has none
 * for this input). The registry skips the plugin for this call, as for a
 * failure, without marking it failed.
 */
export class PluginPendingError extends Error {
  constructor(plugin: string, operation: string) {
    super(`Plugin "${plugin}" has no answer yet for ${operation}`);
    this.name = "PluginPendingError";
  }
}

/** The entries of a config that name a module, in config order. */
export function siteEntries(config: EdgespanConfig): SitePluginEntry[] {
  return Object.entries(config.plugins).flatMap(([name, sw]) =>
    sw.module === undefined ? [] : [{
      name,
      module: sw.module,
      permissions: sw.permissions ?? {},
      options: sw.options,
      enabled: sw.enabled,
    }]
  );
}

/** The permission grants as `kind:value` strings, for listings. */
export function describePermissions(p: PluginPermissions): string[] {
  return (["read", "write", "net", "env"] as const).flatMap((kind) =>
    (p[kind] ?? []).map((v) => `${kind}:${v}`)
  );
}

/** The redacted view of the site config a site plugin gets: no cluster secret. */
export function redactedConfig(config: EdgespanConfig): EdgespanConfig {
  return { ...config, cluster: { ...config.cluster, secret: "(redacted)" } };
}

/** The identity a site plugin gets: public parts only. */
export interface PublicIdentity {
  nodeId: string;
  publicKey: string;
  /** Mesh address, `/128`. */
  address: string;
  /** Cluster mesh prefix, `/64`. */
  subnet: string;
}

/** The public parts of the node's identity (never the private key). */
export function publicIdentity(identity: LocalIdentity): PublicIdentity {
  return {
    nodeId: identity.nodeId,
    publicKey: identity.spec.publicKey,
    address: identity.spec.address,
    subnet: identity.spec.subnet,
  };
}

/**
 * Loads a config's site plugins with `loader`; throws the config error
 * (every problem at its field path) when one cannot be used. Without a
 * loader, a config naming a module is refused.
 */
export async function loadSitePlugins(
  loader: SitePluginLoader | undefined,
  config: EdgespanConfig,
  configPath: string,
): Promise<SitePluginDefinition[]> {
  const entries = siteEntries(config);
  if (entries.length === 0) return [];
  if (!loader) {
    throw new ConfigError(
      configPath,
      entries.map((e) => ({
        path: `plugins.${e.name}.module`,
        message: "this build cannot load site plugins",
      })),
    );
  }
  const result = await loader.load(entries, { config, configPath });
  if (!result.ok) throw new ConfigError(configPath, result.problems);
  return result.definitions;
}
