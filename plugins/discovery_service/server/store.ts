/**
 * The storage seam of the discovery service: what the gRPC methods need from
 * wherever affiliates live (in memory: `state.ts`; in etcd: `etcd_store.ts`).
 * A store enforces the limits, merges endpoints, expires affiliates and
 * pushes every change to its {@linkcode WatchHub}.
 *
 * @module
 */
import type { AffiliateView, Watcher } from "./watch_hub.ts";

export type { AffiliateView, WatchEvent } from "./watch_hub.ts";
export { Watcher } from "./watch_hub.ts";

/** Counts for metrics and health. */
export interface StateStats {
  clusters: number;
  affiliates: number;
  watchers: number;
}

/** A registered Watch stream: the snapshot to send first, then its queue. */
export interface WatchRegistration {
  snapshot: () => AffiliateView[];
  watcher: Watcher;
  /** Equal generations of one cluster = equal snapshots. */
  generation: string;
}

/** Whether the store accepts writes now, and why not. */
export interface StoreHealth {
  ready: boolean;
  /** Why not ready, for `/readyz` and the log. */
  reason?: string;
}

/** Where the service keeps its clusters. */
export interface DiscoveryStore {
  /**
   * Creates or refreshes an affiliate. Non-empty `data` replaces the data
   * and its expiry; endpoints are merged by byte equality in arrival order;
   * an affiliate's expiry only grows otherwise. Watchers are told only when
   * something they see changed.
   *
   * @throws {DiscoveryRequestError} when a limit is broken
   * @throws {StoreUnavailableError} when the store cannot take writes now
   */
  update(
    clusterId: string,
    affiliateId: string,
    data: Uint8Array | undefined,
    endpoints: readonly Uint8Array[],
    ttlMs: number,
  ): void | Promise<void>;
  /** Removes an affiliate (no error when it does not exist). */
  delete(clusterId: string, affiliateId: string): void | Promise<void>;
  /** The live affiliates of a cluster. */
  list(clusterId: string): AffiliateView[];
  /**
   * Registers a watcher.
   *
   * @throws {DiscoveryRequestError} when the watcher or cluster total is reached
   */
  watch(clusterId: string): WatchRegistration;
  /** Drops a watcher (stream ended). */
  unwatch(clusterId: string, watcher: Watcher): void;
  /** Drops expired affiliates and endpoints; returns how many were dropped (or scheduled). */
  gc(): number;
  stats(): StateStats;
  health(): StoreHealth;
  /** Extra Prometheus lines (store latency, errors, ...). */
  metricLines?(): string[];
  /** Stops background work (watches, timers). */
  close?(): Promise<void>;
}

/** The store cannot take the request now (e.g. etcd unreachable): gRPC Unavailable. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}
