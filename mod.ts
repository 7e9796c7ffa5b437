/**
 * edgespan: a WireGuard full-mesh agent for edge boxes.
 *
 * As a library this module exports the core (config, identity, resources,
 * plugin contracts, agent) and the built-in plugins. Run as the main module
 * it is the `edgespan` command line:
 *
 * ```sh
 * npx deno run -A mod.ts --help
 * ```
 *
 * @module
 */
import { runCli } from "./core/cli/main.ts";
import { VERSION } from "./core/version.ts";
import { BUILTIN_PLUGINS } from "./plugins/mod.ts";

export * from "./core/mod.ts";
export * from "./plugins/mod.ts";

if (import.meta.main) {
  const code = await runCli(Deno.args, {
    version: VERSION,
    plugins: BUILTIN_PLUGINS,
  });
  Deno.exit(code);
}
