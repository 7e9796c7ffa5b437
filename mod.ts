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
import { createMeshStep } from "./core/mesh/mesh_step.ts";
import { parseTestTimers } from "./core/mesh/test_timers.ts";
import { BUILTIN_PLUGINS } from "./plugins/mod.ts";
import { FfiDataplane } from "./ffi/mesh/dataplane.ts";
import { attachApi } from "./web/agent_deps.ts";
import { apiResourceClient } from "./web/client.ts";

export * from "./core/mod.ts";
export * from "./plugins/mod.ts";

if (import.meta.main) {
  const timers = parseTestTimers(Deno.env.get("EDGESPAN_TEST_TIMERS"));
  const code = await runCli(Deno.args, {
    version: VERSION,
    plugins: BUILTIN_PLUGINS,
    resources: apiResourceClient,
    mesh: async (config, log) =>
      createMeshStep(
        await FfiDataplane.open({ backend: config.wireguard.backend, log }),
        timers ? { timers } : {},
      ),
    attach: async (agent) => [await attachApi(agent, VERSION)],
  });
  Deno.exit(code);
}
