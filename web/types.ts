/**
 * The contract between the local API and the running agent. The agent
 * implements {@linkcode ApiDeps}; the API never reaches into the agent.
 *
 * @module
 */
import type { ResourceStore } from "../core/resources/store.ts";

/** One readiness check: whether it passes and why. */
export interface ReadinessCheck {
  ok: boolean;
  detail: string;
}

/** The answer of `/readyz`. */
export interface ApiReadiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

/** Connection state of one discovery plugin, as `/metrics` shows it. */
export interface DiscoveryMetric {
  /** Plugin name. */
  name: string;
  state: "connected" | "connecting" | "cached" | "static";
  /** Round-trip of the latest call in ms, when known. */
  latencyMs?: number;
}

/** Counters the store does not hold; everything else comes from resources. */
export interface MetricsSnapshot {
  reconcile: {
    /** Passes since start. */
    runs: number;
    /** Failed passes since start. */
    errors: number;
    /** Duration of the latest pass in ms. */
    lastDurationMs: number;
  };
  discovery: DiscoveryMetric[];
  /** Kernel repairs of the mesh dataplane; absent without one. */
  dataplane?: {
    /** Repairs since start by object (`nft`, `link`, `wireguard-go`, ...). */
    repairs: Record<string, number>;
    /** Differences found and not repaired yet. */
    drift: number;
  };
}

/** Everything the API needs from the agent. */
export interface ApiDeps {
  /** Resources; the store already redacts sensitive fields on every read. */
  store: ResourceStore;
  /** Ready = config valid, link up, discovery reachable or cached. */
  readiness(): ApiReadiness;
  /**
   * Re-reads the config file (`POST /v1/reload`). Throws the config error
   * (its message lists every problem) when the file is invalid.
   */
  reload(): Promise<void>;
  /**
   * Switches a plugin at run time. Throws an error named
   * `UnknownPluginError` for a name that is not a plugin.
   */
  setPluginEnabled(name: string, enabled: boolean): Promise<void>;
  /** Reconcile and discovery counters for `/metrics`. */
  metrics(): MetricsSnapshot;
  /** Bearer token required by the mutating routes. */
  token: string;
  /** Agent version, shown by `/healthz` and `/metrics`. */
  version: string;
  /** Clock for ages in `/metrics`. @default Date.now */
  now?: () => number;
}
