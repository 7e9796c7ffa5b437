/**
 * Where the CLI finds its config and the agent's API: `--api`, then
 * `--config`, then `$EDGESPAN_API`, then `$EDGESPAN_CONFIG`, then
 * `/etc/edgespan/config.yaml` when it exists, then `http://127.0.0.1:7443`.
 * A config with `api.socket` is reached over that unix socket
 * (`unix:/run/edgespan/api.sock`), which works whatever `api.listen` is.
 *
 * @module
 */
import { loadConfig } from "../../core/config/load.ts";
import { knownPlugins } from "../../core/plugins/registry.ts";
import type { AnyPluginDefinition } from "../../core/plugins/types.ts";
import type { EdgespanConfig } from "../../core/config/types.ts";

/** The config file used when neither `--config` nor `$EDGESPAN_CONFIG` is given. */
export const DEFAULT_CONFIG = "/etc/edgespan/config.yaml";

/** The API address used when nothing else names one. */
export const DEFAULT_API = "http://127.0.0.1:7443";

/** What the resolution reads from outside (injected by tests). */
export interface TargetEnv {
  /** Environment variables. @default Deno.env.get */
  env?: (name: string) => string | undefined;
  /** Whether a file exists. @default a stat */
  exists?: (path: string) => boolean;
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The config file a command uses: `--config`, `$EDGESPAN_CONFIG`, or
 * {@linkcode DEFAULT_CONFIG} when that file exists; `undefined` otherwise.
 */
export function configPath(
  given: string | undefined,
  target: TargetEnv = {},
): string | undefined {
  if (given) return given;
  const env = (target.env ?? Deno.env.get)("EDGESPAN_CONFIG");
  if (env) return env;
  return (target.exists ?? fileExists)(DEFAULT_CONFIG)
    ? DEFAULT_CONFIG
    : undefined;
}

/** The API base of a config: its unix socket when it has one, else `http://<api.listen>`. */
export function apiBaseOfConfig(config: EdgespanConfig): string {
  return config.api.socket
    ? `unix:${config.api.socket}`
    : `http://${config.api.listen}`;
}

/** Resolves the API base URL (`http://host:port` or `unix:/path`) of the agent to talk to. */
export async function resolveApiBase(
  values: { api?: string | undefined; config?: string | undefined },
  plugins: readonly AnyPluginDefinition[],
  target: TargetEnv = {},
): Promise<string> {
  const env = target.env ?? Deno.env.get;
  if (values.api) return values.api.replace(/\/$/, "");
  const fromEnv = env("EDGESPAN_API");
  const file = values.config ??
    (fromEnv ? undefined : configPath(undefined, target));
  if (file) {
    const config = await loadConfig(file, { plugins: knownPlugins(plugins) });
    return apiBaseOfConfig(config);
  }
  return (fromEnv ?? DEFAULT_API).replace(/\/$/, "");
}
