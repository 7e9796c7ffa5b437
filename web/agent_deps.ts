/**
 * Connects a running agent to the local API: the agent side of
 * {@linkcode ApiDeps}, and the start/stop of the server next to the agent.
 *
 * @module
 */
import type { Agent } from "../core/agent.ts";
import type { Attachment } from "../core/cli/main.ts";
import { serveApi } from "./serve.ts";
import { loadOrCreateToken } from "./token.ts";
import type { ApiDeps } from "./types.ts";

/** Builds the API's view of an agent. */
export async function agentApiDeps(
  agent: Agent,
  version: string,
): Promise<ApiDeps> {
  return {
    store: agent.store,
    readiness: () => agent.readiness(),
    reload: () => agent.reload(),
    setPluginEnabled: (name, enabled) => agent.setPluginEnabled(name, enabled),
    metrics: () => {
      const stats = agent.reconcileStats;
      return {
        reconcile: {
          runs: stats.runs,
          errors: stats.errors,
          lastDurationMs: stats.lastDurationMs,
        },
        discovery: agent.discoveryHealth().map((d) => ({
          name: d.name,
          state: d.value.state,
          ...(d.value.latencyMs !== undefined
            ? { latencyMs: d.value.latencyMs }
            : {}),
        })),
      };
    },
    token: await loadOrCreateToken(agent.config.node.stateDir),
    version,
  };
}

/** Serves the API for an agent as its config says; returns the handle to close it. */
export async function attachApi(
  agent: Agent,
  version: string,
): Promise<Attachment> {
  const api = agent.config.api;
  const server = await serveApi(await agentApiDeps(agent, version), {
    listen: api.listen,
    ...(api.socket ? { socket: api.socket } : {}),
    allowNonLoopback: api.allowNonLoopback,
  });
  agent.log.info("local API listening", {
    url: server.url,
    ...(server.socket ? { socket: server.socket } : {}),
  });
  return server;
}
