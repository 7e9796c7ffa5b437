/**
 * In-memory clusters of the discovery service (the embedded default
 * store), with injected time. Pure bookkeeping: no I/O, no gRPC. Each change
 * is pushed to the cluster's watchers through the {@linkcode WatchHub}.
 *
 * @module
 */
import type {
  DiscoveryStore,
  StateStats,
  StoreHealth,
  WatchRegistration,
} from "./store.ts";
import { type AffiliateView, type Watcher, WatchHub } from "./watch_hub.ts";
import {
  keyOf,
  mergeUpdate,
  type StoredAffiliate,
  view,
} from "./affiliate_record.ts";
import {
  checkAffiliateId,
  checkClusterId,
  checkUpdate,
  DiscoveryLimits,
  DiscoveryRequestError,
} from "./limits.ts";

interface Cluster {
  affiliates: Map<string, StoredAffiliate>;
}

export type { AffiliateView, WatchEvent } from "./watch_hub.ts";
export { Watcher } from "./watch_hub.ts";
export type { StateStats } from "./store.ts";

/** Serialisable state, for the snapshot file. Bytes are base64. */
export interface StateDump {
  version: 1;
  clusters: {
    id: string;
    affiliates: {
      id: string;
      data: string;
      expiresAt: number;
      endpoints: { bytes: string; expiresAt: number }[];
    }[];
  }[];
}

function exhausted(message: string): DiscoveryRequestError {
  return new DiscoveryRequestError("resource_exhausted", message);
}

/**
 * The clusters of one service instance. Besides the published service's
 * per-cluster limits it caps clusters, affiliates and watchers in total, so
 * memory stays bounded whatever clients send; a refused request changes
 * nothing (no empty cluster is left behind).
 */
export class DiscoveryState implements DiscoveryStore {
  readonly #clusters = new Map<string, Cluster>();
  readonly #hub = new WatchHub();
  readonly #limits: DiscoveryLimits;
  readonly #now: () => number;
  #affiliates = 0;

  constructor(limits: DiscoveryLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Throws when no new cluster may be created. */
  #checkNewCluster(): void {
    if (this.#clusters.size >= this.#limits.clustersMax) {
      throw exhausted(
        `too many clusters in the service (limit ${this.#limits.clustersMax})`,
      );
    }
  }

  /** Throws when `c` (undefined: a new cluster) cannot take one more affiliate. */
  #checkNewAffiliate(c: Cluster | undefined): void {
    if (!c) this.#checkNewCluster();
    else if (c.affiliates.size >= this.#limits.affiliatesMax) {
      throw exhausted("too many affiliates in the cluster");
    }
    if (this.#affiliates >= this.#limits.totalAffiliatesMax) {
      throw exhausted(
        `too many affiliates in the service (limit ${this.#limits.totalAffiliatesMax})`,
      );
    }
  }

  #cluster(id: string): Cluster {
    let c = this.#clusters.get(id);
    if (!c) {
      c = { affiliates: new Map() };
      this.#clusters.set(id, c);
    }
    return c;
  }

  /**
   * Creates or refreshes an affiliate. Non-empty `data` replaces the data and
   * its expiry; endpoints are merged by byte equality in arrival order.
   *
   * @throws {DiscoveryRequestError} when a limit is broken
   */
  update(
    clusterId: string,
    affiliateId: string,
    data: Uint8Array | undefined,
    endpoints: readonly Uint8Array[],
    ttlMs: number,
  ): void {
    checkClusterId(clusterId, this.#limits);
    checkAffiliateId(affiliateId, this.#limits);
    checkUpdate(data, endpoints, ttlMs, this.#limits);
    const existing = this.#clusters.get(clusterId);
    const expiresAt = this.#now() + ttlMs;
    const prev = existing?.affiliates.get(affiliateId);
    if (!prev) this.#checkNewAffiliate(existing);
    const { next, changed } = mergeUpdate(
      prev,
      affiliateId,
      data,
      endpoints,
      expiresAt,
      this.#limits.endpointsMax,
    );
    // Every check passed: from here on nothing throws.
    const c = existing ?? this.#cluster(clusterId);
    if (!prev) this.#affiliates++;
    c.affiliates.set(affiliateId, next);
    if (changed) {
      this.#hub.notify(clusterId, { kind: "update", affiliate: view(next) });
    }
  }

  /** Removes an affiliate (no error when it does not exist). */
  delete(clusterId: string, affiliateId: string): void {
    checkClusterId(clusterId, this.#limits);
    checkAffiliateId(affiliateId, this.#limits);
    const c = this.#clusters.get(clusterId);
    if (!c || !c.affiliates.delete(affiliateId)) return;
    this.#affiliates--;
    this.#hub.notify(clusterId, { kind: "delete", id: affiliateId });
  }

  /** The live affiliates of a cluster. */
  list(clusterId: string): AffiliateView[] {
    checkClusterId(clusterId, this.#limits);
    const c = this.#clusters.get(clusterId);
    if (!c) return [];
    const now = this.#now();
    return [...c.affiliates.values()]
      .filter((a) => a.expiresAt > now)
      .map(view);
  }

  /**
   * Registers a watcher; returns the snapshot it must be sent first and the
   * cluster generation it reflects (equal generations = equal snapshots).
   *
   * @throws {DiscoveryRequestError} when the watcher or cluster total is reached
   */
  watch(clusterId: string): WatchRegistration {
    if (this.#hub.watchers >= this.#limits.watchersMax) {
      throw exhausted(
        `too many watchers in the service (limit ${this.#limits.watchersMax})`,
      );
    }
    if (!this.#clusters.has(clusterId)) this.#checkNewCluster();
    const c = this.#cluster(clusterId);
    const now = this.#now();
    // Expired-but-not-collected affiliates are filtered by time: count them.
    let live = 0;
    for (const a of c.affiliates.values()) if (a.expiresAt > now) live++;
    const watcher = this.#hub.add(clusterId, this.#limits.watcherBuffer);
    return {
      snapshot: () => this.list(clusterId),
      watcher,
      generation: `${this.#hub.generation(clusterId)}/${live}`,
    };
  }

  /** Drops a watcher (stream ended). */
  unwatch(clusterId: string, watcher: Watcher): void {
    this.#hub.remove(clusterId, watcher);
  }

  /**
   * Drops expired affiliates and endpoints and empty, unwatched clusters.
   * Watchers see a deletion, or an update when only endpoints expired.
   * Returns how many affiliates and endpoints were dropped.
   */
  gc(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [id, c] of this.#clusters) {
      for (const a of [...c.affiliates.values()]) {
        if (a.expiresAt <= now) {
          c.affiliates.delete(a.id);
          this.#affiliates--;
          dropped++;
          this.#hub.notify(id, { kind: "delete", id: a.id });
          continue;
        }
        const kept = a.endpoints.filter((e) => e.expiresAt > now);
        if (kept.length !== a.endpoints.length) {
          dropped += a.endpoints.length - kept.length;
          a.endpoints = kept;
          this.#hub.notify(id, { kind: "update", affiliate: view(a) });
        }
      }
      if (c.affiliates.size === 0 && this.#hub.watching(id) === 0) {
        this.#clusters.delete(id);
        this.#hub.forget(id);
      }
    }
    return dropped;
  }

  /** Counts for metrics. */
  stats(): StateStats {
    return {
      clusters: this.#clusters.size,
      affiliates: this.#affiliates,
      watchers: this.#hub.watchers,
    };
  }

  /** Always ready: memory cannot become unreachable. */
  health(): StoreHealth {
    return { ready: true };
  }

  /** Everything needed to restore the state after a restart. */
  dump(): StateDump {
    const b64 = (b: Uint8Array) => btoa(keyOf(b));
    return {
      version: 1,
      clusters: [...this.#clusters].map(([id, c]) => ({
        id,
        affiliates: [...c.affiliates.values()].map((a) => ({
          id: a.id,
          data: b64(a.data),
          expiresAt: a.expiresAt,
          endpoints: a.endpoints.map((e) => ({
            bytes: btoa(e.key),
            expiresAt: e.expiresAt,
          })),
        })),
      })),
    };
  }

  /**
   * Loads a dump (replacing nothing that is newer); entries that break a
   * limit, or do not fit in the totals, are skipped. Returns how many
   * affiliates were restored.
   */
  restore(dump: StateDump): number {
    const unb64 = (s: string) =>
      Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
    let restored = 0;
    for (const cd of dump.clusters ?? []) {
      for (const ad of cd.affiliates ?? []) {
        try {
          checkClusterId(cd.id, this.#limits);
          checkAffiliateId(ad.id, this.#limits);
          const existing = this.#clusters.get(cd.id);
          if (existing?.affiliates.has(ad.id)) continue;
          this.#checkNewAffiliate(existing);
          const endpoints = ad.endpoints.slice(0, this.#limits.endpointsMax)
            .map((e) => ({ key: atob(e.bytes), expiresAt: e.expiresAt }))
            .filter((e) => e.key.length <= this.#limits.endpointMax);
          const data = unb64(ad.data);
          if (data.length > this.#limits.dataMax) continue;
          const c = existing ?? this.#cluster(cd.id);
          this.#affiliates++;
          c.affiliates.set(ad.id, {
            id: ad.id,
            data,
            expiresAt: ad.expiresAt,
            endpoints,
          });
          this.#hub.bump(cd.id);
          restored++;
        } catch {
          // A damaged entry, or one over a total, is skipped; the owner
          // re-publishes it.
        }
      }
    }
    return restored;
  }
}
