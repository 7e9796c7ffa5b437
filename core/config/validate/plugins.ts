/**
 * The `plugins` section: one switch per plugin the binary knows, each entry
 * `true`/`false` or a mapping of `enabled` plus the plugin's own options.
 *
 * @module
 */
import type { ConfigProblem, PluginSwitch } from "../types.ts";
import { isMap, type Reader } from "../reader.ts";
import { readSiteEntry } from "./site_plugin.ts";

/** What the validator needs to know about a plugin to check its `plugins:` entry. */
export interface KnownPlugin {
  readonly name: string;
  /**
   * Checks the plugin's options (every key of its entry except `enabled`).
   * Returns problems with paths relative to the entry, e.g. `peers[0].publicKey`.
   */
  validateOptions?(options: Record<string, unknown>): ConfigProblem[];
}

/**
 * Reads `plugins`; entries for names not in `known` are unknown keys,
 * unless they name a `module` (a site plugin, see `site_plugin.ts`).
 */
export function readPlugins(
  r: Reader,
  raw: unknown,
  known: readonly KnownPlugin[],
  stateDir = "/var/lib/edgespan",
): Record<string, PluginSwitch> {
  const siteNames = isMap(raw)
    ? Object.keys(raw).filter((k) => isMap(raw[k]) && "module" in raw[k])
    : [];
  const pluginsRaw = r.map(raw, "plugins", [
    ...known.map((p) => p.name),
    ...siteNames,
  ]);
  const plugins: Record<string, PluginSwitch> = {};
  for (const [name, entry] of Object.entries(pluginsRaw)) {
    if (siteNames.includes(name)) {
      const sw = readSiteEntry(r, name, entry as Record<string, unknown>, {
        builtIn: known.some((p) => p.name === name),
        stateDir,
      });
      if (sw) plugins[name] = sw;
      continue;
    }
    const plugin = known.find((p) => p.name === name);
    if (!plugin) continue; // already reported as an unknown key
    const sw = readSwitch(r, plugin, entry);
    if (sw) plugins[name] = sw;
  }
  return plugins;
}

function readSwitch(
  r: Reader,
  plugin: KnownPlugin,
  entry: unknown,
): PluginSwitch | undefined {
  const path = `plugins.${plugin.name}`;
  if (typeof entry === "boolean") return { enabled: entry, options: {} };
  if (entry !== null && entry !== undefined && !isMap(entry)) {
    r.report(
      path,
      "expected a mapping such as { enabled: true } or true/false",
    );
    return undefined;
  }
  const { enabled: enabledRaw, ...opts } = (entry ?? {}) as Record<
    string,
    unknown
  >;
  const sw: PluginSwitch = {
    enabled: r.bool(enabledRaw, `${path}.enabled`, true),
    options: opts,
  };
  if (plugin.validateOptions) {
    for (const p of plugin.validateOptions(opts)) {
      r.report(`${path}.${p.path}`, p.message);
    }
  } else {
    for (const key of Object.keys(opts)) {
      r.report(
        `${path}.${key}`,
        `unknown key; plugin "${plugin.name}" takes only "enabled"`,
      );
    }
  }
  return sw;
}
