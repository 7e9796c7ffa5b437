/**
 * The `edgespan` command line: the composition root that wires the core to
 * its adapters (kernel dataplane from `ffi/`, the HTTP API from `web/`, the
 * built-in plugins, the discovery service's own subcommand).
 *
 * ```sh
 * npx deno run -A main.ts --help
 * ```
 *
 * @module
 */
import { runCli } from "./web/cli/main.ts";
import { VERSION } from "./core/version.ts";
import { createMeshStep } from "./core/mesh/mesh_step.ts";
import { parseTestTimers } from "./core/mesh/test_timers.ts";
import { BUILTIN_PLUGINS } from "./plugins/mod.ts";
import { createSiteLoader } from "./plugins/external/mod.ts";
import { FfiDataplane } from "./ffi/mesh/dataplane.ts";
import { processCpuMs } from "./ffi/process_cpu.ts";
import { Timeline } from "./core/timeline.ts";
import { netlinkHostAddresses } from "./ffi/rtnetlink/host_addresses.ts";
import { systemAddresses } from "./core/agent.ts";
import { createLogger } from "./core/log/logger.ts";
import { attachApi, notifiedReload } from "./web/agent_deps.ts";
import { buildInfo } from "./web/cli/build_info.ts";
import { apiResourceClient } from "./web/client.ts";

function usageDiscovery(sub: string | undefined): number {
  console.error(
    sub === undefined || sub === "--help" || sub === "-h"
      ? "Usage: edgespan discovery serve --listen ADDR [--tls-cert F --tls-key F] (see --help of serve)"
      : `Unknown discovery command "${sub}": the only one is "serve"`,
  );
  return sub === "--help" || sub === "-h" ? 0 : 2;
}

function warnOnce(msg: string): (error: unknown) => void {
  let warned = false;
  return (error) => {
    if (warned) return;
    warned = true;
    createLogger().warn(msg, { error });
  };
}

/** Runs the `edgespan` command line with the process arguments; resolves to the exit code. */
export function main(args: string[] = Deno.args): Promise<number> {
  const timers = parseTestTimers(Deno.env.get("EDGESPAN_TEST_TIMERS"));
  return runCli(args, {
    version: VERSION,
    build: buildInfo(),
    plugins: BUILTIN_PLUGINS,
    resources: apiResourceClient,
    reload: notifiedReload,
    // Node addresses need link state (up, carrier), which only netlink has.
    agentOptions: {
      // Each start-up and peer step also records the CPU used so far.
      timeline: new Timeline({ cpu: processCpuMs }),
      // Site plugins named in the config, each in its own sandboxed worker.
      sitePlugins: createSiteLoader(),
      hostAddresses: netlinkHostAddresses({
        fallback: systemAddresses,
        onFallback: warnOnce(
          "netlink is unavailable: node addresses are read without link state, so every link counts as up",
        ),
      }),
    },
    mesh: async (config, log, wake) =>
      createMeshStep(
        await FfiDataplane.open({
          backend: config.wireguard.backend,
          log,
          onWake: wake,
        }),
        timers ? { timers } : {},
      ),
    attach: async (agent) => [await attachApi(agent, VERSION)],
    commands: {
      discovery: {
        summary:
          "discovery serve --listen ADDR   run a standalone discovery service",
        // Imported only for this command: the agent does not load the service.
        run: async (args) =>
          args[0] === "serve"
            ? (await import("./plugins/discovery_service/server/cli.ts"))
              .discoveryServeCommand(args.slice(1))
            : usageDiscovery(args[0]),
      },
    },
  });
}

if (import.meta.main) Deno.exit(await main());
