/**
 * A `plugins:` entry naming a module: a site plugin. Its shape is checked
 * here (pure); loading the file and checking its options is the loader's
 * job, at start, on reload and in `edgespan validate`.
 *
 * @module
 */
import type { PluginPermissions, PluginSwitch } from "../types.ts";
import { isMap, type Reader } from "../reader.ts";

/** Keys of a site plugin entry that are not the plugin's own options. */
export const SITE_ENTRY_KEYS = ["enabled", "module", "permissions"] as const;

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MODULE = /\.(js|mjs|ts|mts)$/;
const GRANTS = ["read", "write", "net", "env"] as const;
const NEVER: Record<string, string> = {
  run: "a site plugin never runs programs",
  ffi: "a site plugin never loads native code (the kernel is the agent's)",
  sys: "a site plugin never reads system information",
  import: "a site plugin is one file; bundle its imports into it",
};

/** Whether `path` is `dir` or inside it (both absolute, no `..`). */
function within(path: string, dir: string): boolean {
  const d = dir.replace(/\/+$/, "");
  return path === d || path.startsWith(`${d}/`) || d.startsWith(`${path}/`) ||
    path === "/";
}

function readGrants(
  r: Reader,
  raw: unknown,
  path: string,
  stateDir: string,
): PluginPermissions {
  if (raw === undefined || raw === null) return {};
  if (!isMap(raw)) {
    r.report(path, 'expected a mapping such as { net: ["cmdb.example:443"] }');
    return {};
  }
  const out: PluginPermissions = {};
  for (const [kind, value] of Object.entries(raw)) {
    const where = `${path}.${kind}`;
    if (kind in NEVER) {
      r.report(where, `cannot be granted: ${NEVER[kind]}`);
      continue;
    }
    if (!(GRANTS as readonly string[]).includes(kind)) {
      r.report(where, `unknown permission; grant ${GRANTS.join(", ")}`);
      continue;
    }
    if (value === true || value === "all") {
      r.report(
        where,
        `grant a list (e.g. ${kind}: ["..."]); a blanket grant is refused`,
      );
      continue;
    }
    const items = r.stringList(value, where) ?? [];
    items.forEach((item, i) => {
      const at = `${where}[${i}]`;
      if (item === "") r.report(at, "is empty");
      else if ((kind === "read" || kind === "write") && !item.startsWith("/")) {
        r.report(at, `"${item}" is not an absolute path`);
      } else if (
        (kind === "read" || kind === "write") && item.split("/").includes("..")
      ) {
        r.report(at, `"${item}" contains ".."; write the path it names`);
      } else if (
        (kind === "read" || kind === "write") && within(item, stateDir)
      ) {
        r.report(
          at,
          `"${item}" would expose the state directory "${stateDir}" (the private key and the API token); grant the files the plugin needs`,
        );
      }
    });
    out[kind as (typeof GRANTS)[number]] = items;
  }
  return out;
}

/**
 * Reads a site plugin entry at `plugins.<name>`. The plugin's own options
 * are kept as they are, for the plugin's `parseOptions`.
 */
export function readSiteEntry(
  r: Reader,
  name: string,
  entry: Record<string, unknown>,
  context: { builtIn: boolean; stateDir: string },
): PluginSwitch | undefined {
  const path = `plugins.${name}`;
  const { enabled, module, permissions, ...options } = entry;
  if (context.builtIn) {
    r.report(
      `${path}.module`,
      `"${name}" is a built-in plugin; give the site plugin another name`,
    );
    return undefined;
  }
  if (!NAME.test(name)) {
    r.report(
      path,
      `"${name}" is not a plugin name; use lowercase words joined by "-" (e.g. my-routes)`,
    );
  }
  const file = r.string(module, `${path}.module`);
  if (file === undefined) return undefined;
  if (!file.startsWith("/")) {
    r.report(
      `${path}.module`,
      `"${file}" is not an absolute path (write e.g. /etc/edgespan/plugins/${name}.js)`,
    );
  } else if (!MODULE.test(file)) {
    r.report(
      `${path}.module`,
      `"${file}" is not a .js, .mjs, .ts or .mts file`,
    );
  }
  return {
    enabled: r.bool(enabled, `${path}.enabled`, true),
    options,
    module: file,
    permissions: readGrants(
      r,
      permissions,
      `${path}.permissions`,
      context.stateDir,
    ),
  };
}
