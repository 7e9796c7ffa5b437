/**
 * The contract between the local API and the running agent. The agent
 * implements {@linkcode ApiDeps}; the API never reaches into the agent.
 *
 * @module
 */
import type { ResourceStore } from "../core/resources/store.ts";
import type { TimelineSnapshot } from "../core/timeline.ts";

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

/** A discovery connection as `/v1/status` shows it. */
export interface DiscoveryStatus {
  /** Plugin name. */
  name: string;
  state: "connected" | "connecting" | "cached" | "static";
  /** RFC 3339 time the connection entered this state, when known. */
  since?: string;
  /** Detail: endpoint, last error. */
  detail: string;
}

/** The answer of `GET /v1/status`. */
export interface ApiStatus {
  version: string;
  hostname: string;
  /** RFC 3339 time of the answer (the agent's clock). */
  time: string;
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
  discovery: DiscoveryStatus[];
  peers: { up: number; total: number };
  /** The peer statuses, as `GET /v1/peerstatuses` lists them. */
  items: { id: string; version: number; updated: string; spec: unknown }[];
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
  /** Outcome of the config loads; absent when unknown. */
  reload?: {
    lastOk: boolean;
    /** ms since the epoch of the latest successful load. */
    lastSuccessAt: number;
    failures: number;
  };
  /** Start-up and peer steps; absent when the agent keeps none. */
  timeline?: TimelineSnapshot;
  /** Hook calls per plugin since start; absent when not counted. */
  plugins?: PluginCallMetric[];
  /** Present while this box serves as a relay (pairs: `relaypairs`). */
  relay?: {
    /** Refused join answers since start, by kind (`full`, `ports`, ...). */
    refusals: Record<string, number>;
  };
}

/** Hook calls of one plugin (built-in or site) since the agent started. */
export interface PluginCallMetric {
  name: string;
  calls: number;
  /** Calls that threw (or, for a site plugin, timed out or found it dead). */
  errors: number;
  /** Seconds spent in its hooks. */
  seconds: number;
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
  /**
   * Discovery connections with the time each entered its state, for
   * `/v1/status`. @default from {@linkcode metrics}, without times
   */
  discovery?(): DiscoveryStatus[];
  /** Host name shown by `/v1/status` and the dashboard. @default Deno.hostname() */
  hostname?: string;
  /** Clock for ages in `/metrics`. @default Date.now */
  now?: () => number;
  /** Start-up and peer steps (`GET /v1/timeline`). @default none (404) */
  timeline?: () => TimelineSnapshot;
}
