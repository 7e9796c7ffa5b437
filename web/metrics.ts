/**
 * `GET /metrics` in the Prometheus text exposition format (version 0.0.4).
 *
 * Peer metrics come from the `peerstatuses` resources; reconcile and
 * discovery counters from the agent's {@linkcode MetricsSnapshot}; endpoint
 * changes are counted here by watching the store.
 *
 * @module
 */
import type { PeerStatusSpec } from "../core/resources/specs.ts";
import type { Resource, ResourceStore } from "../core/resources/store.ts";
import type { MetricsSnapshot } from "./types.ts";

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
  const changes = family(
    "edgespan_peer_endpoint_changes_total",
    "counter",
    "Times the endpoint used for the peer changed since the agent started.",
  );
  for (const p of input.peers) {
    const l = { peer: p.id, label: p.spec.label };
    up.add(l, p.spec.state === "up" ? 1 : 0);
    rx.add(l, p.spec.receiveBytes);
    tx.add(l, p.spec.transmitBytes);
    const t = Date.parse(p.spec.lastHandshakeTime);
    if (p.spec.lastHandshakeTime && !Number.isNaN(t)) {
      age.add(l, Math.max(0, (input.now - t) / 1000));
    }
    changes.add(l, input.endpointChanges.get(p.id) ?? 0);
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
