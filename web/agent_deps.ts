/**
 * Connects a running agent to the local API: the agent side of
 * {@linkcode ApiDeps}, the start/stop of the server next to the agent, and
 * the systemd notifications (READY=1 once the API answers, WATCHDOG=1 while
 * running, STOPPING=1 on the way out).
 *
 * @module
 */
import type { Agent, Attachment } from "../core/agent.ts";
import { sdNotify, startWatchdog } from "../ffi/sd_notify.ts";
import { serveApi } from "./serve.ts";
import { loadOrCreateToken } from "./token.ts";
import type { ApiDeps } from "./types.ts";

/** The parts of the agent the API uses. */
export interface ApiAgent extends
  Pick<
    Agent,
    | "store"
    | "config"
    | "readiness"
    | "reload"
    | "setPluginEnabled"
    | "reconcileStats"
    | "discoveryHealth"
    | "log"
  > {
  /** Dataplane repairs for `/metrics`; absent without a mesh. */
  meshHealth?: Agent["meshHealth"];
}

/** Builds the API's view of an agent. */
export async function agentApiDeps(
  agent: ApiAgent,
  version: string,
): Promise<ApiDeps> {
  return {
    store: agent.store,
    readiness: () => agent.readiness(),
    reload: () => agent.reload(),
    setPluginEnabled: (name, enabled) => agent.setPluginEnabled(name, enabled),
    metrics: () => {
      const stats = agent.reconcileStats;
      const health = agent.meshHealth?.();
      return {
        ...(health
          ? {
            dataplane: { repairs: health.repairs, drift: health.drift.length },
          }
          : {}),
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

function notify(agent: ApiAgent, state: string): void {
  try {
    sdNotify(state);
  } catch (e) {
    agent.log.warn("cannot notify systemd", { error: e });
  }
}

/**
 * Serves the API for an agent as its config says, then tells systemd the
 * agent is ready (a no-op without `$NOTIFY_SOCKET`). Returns the handle
 * whose `close` sends STOPPING=1 and stops the server.
 */
export async function attachApi(
  agent: ApiAgent,
  version: string,
): Promise<Attachment & { url: string }> {
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
  notify(agent, `READY=1\nSTATUS=serving the API on ${server.url}`);
  const stopWatchdog = startWatchdog();
  return {
    url: server.url,
    async close() {
      stopWatchdog();
      notify(agent, "STOPPING=1");
      await server.close();
    },
  };
}
