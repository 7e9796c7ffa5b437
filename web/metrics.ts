/**
 * `GET /metrics` in the Prometheus text exposition format (version 0.0.4).
 *
 * Peer metrics come from the `peerstatuses` resources; reconcile and
 * discovery counters from the agent's {@linkcode MetricsSnapshot}; endpoint
 * changes are counted here by watching the store.
 *
 * @module
 */
import type { PeerStatusSpec, RelayPairSpec } from "../core/resources/specs.ts";
import type { Resource, ResourceStore } from "../core/resources/store.ts";
import type { MetricsSnapshot } from "./types.ts";
import type { ProcessStats } from "./process_stats.ts";

/** Content type of the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const PEER_STATES = ["up", "down", "unknown"] as const;
const DISCOVERY_STATES = [
  "connected",
  "connecting",
  "cached",
  "static",
] as const;

/** Everything one rendering needs; pure input. */
export interface MetricsInput {
  version: string;
  ready: boolean;
  peers: readonly Resource<PeerStatusSpec>[];
  affiliates: number;
  /** Endpoint changes per peer public key since start. */
  endpointChanges: ReadonlyMap<string, number>;
  snapshot: MetricsSnapshot;
  /** Milliseconds since the epoch, for handshake ages. */
  now: number;
  /** Commit of the build, for `edgespan_build_info`. @default "unknown" */
  commit?: string;
  /** Plugin switches from the `plugins` resources. @default none */
  plugins?: readonly { name: string; enabled: boolean }[];
  /** The process's own resource use (`process_*`). @default none */
  process?: ProcessStats | undefined;
  /** The pairs this box serves as a relay (with `snapshot.relay`). @default none */
  relayPairs?: readonly Resource<RelayPairSpec>[];
}

/** Kinds of relay refusals, always exposed (0 until one happens). */
const REFUSAL_KINDS = ["full", "ports", "bind", "self", "other"] as const;

/** `relay:<label>` of a peer's path → the relay's label. */
function relayOfPath(path: string | undefined): string | undefined {
  return path?.startsWith("relay:") ? path.slice(6) : undefined;
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) =>
    `${k}="${escapeLabel(v)}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

class Family {
  readonly lines: string[];
  constructor(name: string, type: "gauge" | "counter", help: string) {
    this.lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
    this.name = name;
  }
  readonly name: string;
  add(pairs: Record<string, string>, value: number): this {
    this.lines.push(`${this.name}${labels(pairs)} ${num(value)}`);
    return this;
  }
}

/** Renders the exposition text. */
export function renderMetrics(input: MetricsInput): string {
  const families: Family[] = [];
  const family = (
    name: string,
    type: "gauge" | "counter",
    help: string,
  ) => {
    const f = new Family(name, type, help);
    families.push(f);
    return f;
  };
  family("edgespan_info", "gauge", "Agent version; always 1.")
    .add({ version: input.version }, 1);
  family(
    "edgespan_build_info",
    "gauge",
    "Version and commit of this build; always 1.",
  ).add({ version: input.version, commit: input.commit ?? "unknown" }, 1);
  const proc = input.process;
  if (proc) {
    family(
      "process_resident_memory_bytes",
      "gauge",
      "Resident memory size in bytes.",
    ).add({}, proc.residentMemoryBytes);
    family(
      "process_virtual_memory_bytes",
      "gauge",
      "Virtual memory size in bytes.",
    ).add({}, proc.virtualMemoryBytes);
    family("process_open_fds", "gauge", "Open file descriptors.")
      .add({}, proc.openFds);
    if (proc.maxFds >= 0) {
      family("process_max_fds", "gauge", "Limit of open file descriptors.")
        .add({}, proc.maxFds);
    }
    family(
      "process_start_time_seconds",
      "gauge",
      "Start time of the process since the epoch in seconds.",
    ).add({}, proc.startTimeSeconds);
    family(
      "process_cpu_seconds_total",
      "counter",
      "User and system CPU time spent in seconds.",
    ).add({}, proc.cpuSecondsTotal);
  }
  const reload = input.snapshot.reload;
  if (reload) {
    family(
      "edgespan_config_last_reload_successful",
      "gauge",
      "1 when the latest config load (start or reload) succeeded.",
    ).add({}, reload.lastOk ? 1 : 0);
    family(
      "edgespan_config_last_reload_success_timestamp_seconds",
      "gauge",
      "Time of the latest successful config load since the epoch in seconds.",
    ).add({}, reload.lastSuccessAt / 1000);
    family(
      "edgespan_config_reload_failures_total",
      "counter",
      "Config reloads rejected since start (the running config was kept).",
    ).add({}, reload.failures);
  }
  if (input.plugins?.length) {
    const on = family(
      "edgespan_plugin_enabled",
      "gauge",
      "1 when the plugin is switched on (config, default or run-time override).",
    );
    for (const p of input.plugins) {
      on.add({ plugin: p.name }, p.enabled ? 1 : 0);
    }
  }
  family("edgespan_ready", "gauge", "1 when every readiness check passes.")
    .add({}, input.ready ? 1 : 0);
  family(
    "edgespan_affiliates",
    "gauge",
    "Cluster members known, this node included.",
  )
    .add({}, input.affiliates);

  const byState = family("edgespan_peers", "gauge", "Peers by link state.");
  for (const state of PEER_STATES) {
    byState.add(
      { state },
      input.peers.filter((p) => p.spec.state === state).length,
    );
  }
  const up = family("edgespan_peer_up", "gauge", "1 when the peer is up.");
  const rx = family(
    "edgespan_peer_receive_bytes_total",
    "counter",
    "Bytes received from the peer.",
  );
  const tx = family(
    "edgespan_peer_transmit_bytes_total",
    "counter",
    "Bytes sent to the peer.",
  );
  const age = family(
    "edgespan_peer_last_handshake_age_seconds",
    "gauge",
    "Seconds since the latest handshake; absent when there was none.",
  );
  const stamp = family(
    "edgespan_peer_last_handshake_timestamp_seconds",
    "gauge",
    "Time of the latest handshake since the epoch in seconds; absent when there was none.",
  );
  const changes = family(
    "edgespan_peer_endpoint_changes_total",
    "counter",
    "Times the endpoint used for the peer changed since the agent started.",
  );
  const path = family(
    "edgespan_peer_path",
    "gauge",
    "1 for how the peer's packets travel (direct, or relay:<label> through a peer relay); absent when no path plugin runs.",
  );
  for (const p of input.peers) {
    const l = { peer: p.id, label: p.spec.label };
    if (p.spec.path) path.add({ ...l, path: p.spec.path }, 1);
    up.add(l, p.spec.state === "up" ? 1 : 0);
    rx.add(l, p.spec.receiveBytes);
    tx.add(l, p.spec.transmitBytes);
    const t = Date.parse(p.spec.lastHandshakeTime);
    if (p.spec.lastHandshakeTime && !Number.isNaN(t)) {
      age.add(l, Math.max(0, (input.now - t) / 1000));
      stamp.add(l, t / 1000);
    }
    changes.add(l, input.endpointChanges.get(p.id) ?? 0);
  }

  const byRelay = new Map<string, number>();
  for (const p of input.peers) {
    const relay = relayOfPath(p.spec.path);
    if (relay !== undefined) byRelay.set(relay, (byRelay.get(relay) ?? 0) + 1);
  }
  if (input.peers.some((p) => p.spec.path)) {
    const relayed = family(
      "edgespan_peers_relayed",
      "gauge",
      "Peers whose packets go through each peer relay (by the relay's label).",
    );
    for (const [relay, n] of [...byRelay].sort()) relayed.add({ relay }, n);
  }
  const served = input.snapshot.relay;
  if (served) {
    const pairs = input.relayPairs ?? [];
    family(
      "edgespan_relay_pairs",
      "gauge",
      "Pairs this box serves as a peer relay.",
    ).add({}, pairs.length);
    const bytes = family(
      "edgespan_relay_forwarded_bytes_total",
      "counter",
      "Bytes this relay forwarded for a pair, per leg (from one box to the other).",
    );
    const packets = family(
      "edgespan_relay_forwarded_packets_total",
      "counter",
      "Datagrams this relay forwarded for a pair, both ways.",
    );
    const dropped = family(
      "edgespan_relay_dropped_packets_total",
      "counter",
      "Datagrams this relay dropped for a pair (foreign sender or over the byte rate).",
    );
    for (const { id, spec } of pairs) {
      for (const leg of [0, 1] as const) {
        bytes.add({
          pair: id,
          from: spec.labels[leg],
          to: spec.labels[leg === 0 ? 1 : 0],
          port: String(spec.ports[leg]),
        }, spec.bytes[leg]);
      }
      packets.add({ pair: id }, spec.packets);
      dropped.add({ pair: id }, spec.dropped);
    }
    const refused = family(
      "edgespan_relay_refusals_total",
      "counter",
      "Join answers this relay refused since start, by reason (full, ports, bind, self, other).",
    );
    for (const reason of REFUSAL_KINDS) {
      refused.add({ reason }, served.refusals[reason] ?? 0);
    }
  }

  const r = input.snapshot.reconcile;
  family("edgespan_reconcile_runs_total", "counter", "Reconcile passes.")
    .add({}, r.runs);
  family(
    "edgespan_reconcile_errors_total",
    "counter",
    "Reconcile passes that failed.",
  ).add({}, r.errors);
  family(
    "edgespan_reconcile_last_duration_seconds",
    "gauge",
    "Duration of the latest reconcile pass.",
  ).add({}, r.lastDurationMs / 1000);

  const dState = family(
    "edgespan_discovery_state",
    "gauge",
    "1 for the current connection state of each discovery plugin.",
  );
  const dLatency = family(
    "edgespan_discovery_latency_seconds",
    "gauge",
    "Round-trip of the latest discovery call.",
  );
  for (const d of input.snapshot.discovery) {
    for (const state of DISCOVERY_STATES) {
      dState.add({ plugin: d.name, state }, d.state === state ? 1 : 0);
    }
    if (d.latencyMs !== undefined) {
      dLatency.add({ plugin: d.name }, d.latencyMs / 1000);
    }
  }
  const calls = input.snapshot.plugins;
  if (calls) {
    const n = family(
      "edgespan_plugin_calls_total",
      "counter",
      "Hook calls per plugin (a site plugin's run in its sandbox).",
    );
    const e = family(
      "edgespan_plugin_errors_total",
      "counter",
      "Hook calls per plugin that threw, timed out or found the plugin stopped.",
    );
    const t = family(
      "edgespan_plugin_call_seconds_total",
      "counter",
      "Seconds spent in each plugin's hooks.",
    );
    for (const p of calls) {
      n.add({ plugin: p.name }, p.calls);
      e.add({ plugin: p.name }, p.errors);
      t.add({ plugin: p.name }, p.seconds);
    }
  }
  const tl = input.snapshot.timeline;
  if (tl) {
    const steps = family(
      "edgespan_timeline_seconds",
      "gauge",
      "When each start-up step happened, in seconds after the process started.",
    );
    for (const [event, ms] of Object.entries(tl.events)) {
      steps.add({ event }, ms / 1000);
    }
    if (tl.cpu) {
      const cpu = family(
        "edgespan_timeline_cpu_seconds",
        "gauge",
        "CPU time the process had used when each start-up step happened (every thread, user and system).",
      );
      for (const [event, ms] of Object.entries(tl.cpu)) {
        cpu.add({ event }, ms / 1000);
      }
    }
    const peerSteps = family(
      "edgespan_peer_timeline_seconds",
      "gauge",
      "When each peer was first known, configured, shook hands and was up, in seconds after the process started.",
    );
    for (const [peer, p] of Object.entries(tl.peers)) {
      for (const event of ["known", "configured", "handshake", "up"] as const) {
        const ms = p[event];
        if (ms !== undefined) {
          peerSteps.add({ peer, label: p.label, event }, ms / 1000);
        }
      }
    }
  }
  const dp = input.snapshot.dataplane;
  if (dp) {
    const repairs = family(
      "edgespan_dataplane_repairs_total",
      "counter",
      "Kernel objects found changed or missing and put back, by object.",
    );
    for (const [object, n] of Object.entries(dp.repairs)) {
      repairs.add({ object }, n);
    }
    family(
      "edgespan_dataplane_drift",
      "gauge",
      "Differences between the kernel and the mesh state not repaired yet.",
    ).add({}, dp.drift);
  }
  return families.map((f) => f.lines.join("\n")).join("\n") + "\n";
}

/**
 * Counts changes of each peer's endpoint (`peerstatuses.endpoint`) by
 * watching the store. Call the returned function to stop.
 */
export function countEndpointChanges(
  store: ResourceStore,
  into: Map<string, number>,
): () => void {
  const last = new Map<string, string>();
  for (const r of store.list<PeerStatusSpec>("peerstatuses")) {
    last.set(r.id, r.spec.endpoint);
  }
  return store.watch((event) => {
    const id = event.resource.id;
    if (event.kind === "deleted") {
      last.delete(id);
      return;
    }
    const endpoint = (event.resource.spec as PeerStatusSpec).endpoint;
    const before = last.get(id);
    last.set(id, endpoint);
    if (before !== undefined && before !== endpoint) {
      into.set(id, (into.get(id) ?? 0) + 1);
    }
  }, "peerstatuses");
}
