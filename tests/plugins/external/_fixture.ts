/**
 * Helpers for site plugin tests: a temp folder with a config that names
 * plugin files, an agent on it (fake sysfs and host addresses, silent log),
 * and polling until a condition holds.
 *
 * @module
 */
import { Agent, type AgentOptions } from "../../../core/agent.ts";
import { silentLogger } from "../../../core/log/logger.ts";
import type { PluginStatusSpec } from "../../../core/resources/specs.ts";
import { createSiteLoader } from "../../../plugins/external/mod.ts";
import { BUILTIN_PLUGINS } from "../../../plugins/mod.ts";

export const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const CLUSTER_ID = "8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=";

/** A temp folder with a fake sysfs and `config.yaml`. */
export interface SiteEnv {
  dir: string;
  configPath: string;
  /** Writes the config with `plugins` (YAML text of the `plugins:` mapping). */
  writeConfig(plugins: string): Promise<void>;
  /** Writes a plugin file into the folder; returns its path. */
  writePlugin(name: string, source: string): Promise<string>;
  remove(): Promise<void>;
}

export async function siteEnv(): Promise<SiteEnv> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-site-" });
  await Deno.mkdir(`${dir}/sys/eth0/device`, { recursive: true });
  await Deno.writeTextFile(`${dir}/sys/eth0/type`, "1\n");
  await Deno.writeTextFile(`${dir}/sys/eth0/address`, "2e:1a:b6:53:81:69\n");
  const configPath = `${dir}/config.yaml`;
  return {
    dir,
    configPath,
    writeConfig: (plugins) =>
      Deno.writeTextFile(
        configPath,
        `cluster: {id: "${CLUSTER_ID}", secret: "${SECRET}"}\n` +
          `node: {stateDir: ${dir}/state, hostname: edge-a}\n` +
          `reconcile: {interval: 1h}\nplugins:\n${plugins}\n`,
      ),
    async writePlugin(name, source) {
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, source);
      return path;
    },
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Starts an agent on `env` with the real site loader (short deadlines). */
export function startAgent(
  env: SiteEnv,
  options: Partial<AgentOptions> = {},
): Promise<Agent> {
  return Agent.start({
    configPath: env.configPath,
    plugins: BUILTIN_PLUGINS,
    log: silentLogger(),
    sysfsRoot: `${env.dir}/sys`,
    hostAddresses: {
      addresses: () =>
        Promise.resolve([{
          address: "192.0.2.10/24",
          link: "eth0",
          scope: "global" as const,
          linkState: { operational: true, physical: true, carrier: true },
        }]),
    },
    sitePlugins: createSiteLoader({ callDeadlineMs: 300 }),
    startLoop: false,
    ...options,
  });
}

/** Polls `check` every 10 ms until it returns a value other than undefined (at most `ms`). */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined,
  ms = 3000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The status of plugin `name`. */
export function status(agent: Agent, name: string): PluginStatusSpec {
  const s = agent.registry.statuses().find((p) => p.name === name);
  if (!s) throw new Error(`No plugin "${name}"`);
  return s;
}
