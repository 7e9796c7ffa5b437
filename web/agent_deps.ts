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
import type { PeerStatusSpec } from "../core/resources/specs.ts";

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
  /** Outcome of the config loads for `/metrics`. */
  reloadStats?: Agent["reloadStats"];
  /** Hook calls per plugin for `/metrics`. */
  registry?: Pick<Agent["registry"], "callStats">;
  /** Dataplane repairs for `/metrics`; absent without a mesh. */
  meshHealth?: Agent["meshHealth"];
  /** Discovery connections with times, for `/v1/status`. */
  discoveryStatus?: Agent["discoveryStatus"];
  /** Start-up and peer steps for `/v1/timeline` and `/metrics`. */
  timeline?: Agent["timeline"];
  /** What the box serves as a relay, for `/metrics`. */
  relayServed?: Agent["relayServed"];
}

/** Builds the API's view of an agent. */
export async function agentApiDeps(
  agent: ApiAgent,
  version: string,
): Promise<ApiDeps> {
  return {
    store: agent.store,
    readiness: () => agent.readiness(),
    reload: () => notifiedReload(agent),
    setPluginEnabled: (name, enabled) => agent.setPluginEnabled(name, enabled),
    metrics: () => {
      const stats = agent.reconcileStats;
      const health = agent.meshHealth?.();
      const relay = agent.relayServed?.();
      return {
        ...(relay ? { relay: { refusals: { ...relay.refusals } } } : {}),
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
        ...(agent.timeline ? { timeline: agent.timeline.snapshot() } : {}),
        ...(agent.registry ? { plugins: agent.registry.callStats() } : {}),
        ...(agent.reloadStats ? { reload: agent.reloadStats } : {}),
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
    hostname: agent.config.node.hostname ?? Deno.hostname(),
    ...(agent.discoveryStatus
      ? {
        discovery: () =>
          agent.discoveryStatus!().map((d) => ({
            name: d.name,
            state: d.state,
            since: new Date(d.since).toISOString(),
            detail: d.detail,
          })),
      }
      : {}),
    ...(agent.timeline ? { timeline: () => agent.timeline!.snapshot() } : {}),
  };
}

/** `N/M peers up` of the store's peer statuses. */
export function peersUpLine(agent: Pick<ApiAgent, "store">): string {
  const peers = agent.store.list<PeerStatusSpec>("peerstatuses");
  const up = peers.filter((p) => p.spec.state === "up").length;
  return `${up}/${peers.length} peers up`;
}

/**
 * Reloads the config between RELOADING=1 and READY=1 (with the peer count
 * in STATUS=), so `systemctl reload` waits for it and shows the outcome.
 */
export async function notifiedReload(
  agent: Pick<ApiAgent, "reload" | "store" | "log">,
): Promise<void> {
  notify(agent, "RELOADING=1");
  try {
    await agent.reload();
  } finally {
    notify(agent, `READY=1\nSTATUS=${peersUpLine(agent)}`);
  }
}

function notify(agent: Pick<ApiAgent, "log">, state: string): void {
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
  agent.timeline?.mark("apiReady");
  agent.log.info("local API listening", {
    url: server.url,
    ...(server.socket ? { socket: server.socket } : {}),
  });
  notify(agent, `READY=1\nSTATUS=${peersUpLine(agent)}`);
  const stopWatchdog = startWatchdog();
  // STATUS= follows the peer count (`systemctl status edgespan` shows it).
  let shown = peersUpLine(agent);
  const stopStatus = agent.store.watch(() => {
    const line = peersUpLine(agent);
    if (line === shown) return;
    shown = line;
    notify(agent, `STATUS=${line}`);
  }, "peerstatuses");
  return {
    url: server.url,
    async close() {
      stopWatchdog();
      stopStatus();
      notify(agent, "STOPPING=1");
      await server.close();
    },
  };
}
