/**
 * In-memory clusters of the discovery service, with injected time. Pure
 * bookkeeping: no I/O, no gRPC. Each change is pushed to the cluster's
 * watchers, each through its own bounded queue.
 *
 * @module
 */
import {
  checkAffiliateId,
  checkClusterId,
  checkUpdate,
  DiscoveryLimits,
  DiscoveryRequestError,
} from "./limits.ts";

/** An affiliate as the service shows it: opaque bytes. */
export interface AffiliateView {
  id: string;
  data: Uint8Array;
  endpoints: Uint8Array[];
}

/** One change a watcher sees. */
export type WatchEvent =
  | { kind: "update"; affiliate: AffiliateView }
  | { kind: "delete"; id: string };

interface StoredEndpoint {
  bytes: Uint8Array;
  key: string;
  expiresAt: number;
}

interface StoredAffiliate {
  id: string;
  data: Uint8Array;
  expiresAt: number;
  endpoints: StoredEndpoint[];
}

interface Cluster {
  affiliates: Map<string, StoredAffiliate>;
  watchers: Set<Watcher>;
  /** Bumped on every change, so a snapshot encoding can be reused. */
  generation: number;
}

/**
 * A Watch stream's queue. Pending changes are kept per affiliate: a newer
 * change replaces an older one that was not sent yet, so a slow watcher gets
 * the latest state of each affiliate instead of every intermediate one, and
 * the queue never holds more entries than the cluster has affiliates.
 * `lost` turns true when more than `max` affiliates are pending.
 */
export class Watcher {
  readonly #pending = new Map<string, WatchEvent>();
  lost = false;
  #wake: (() => void) | undefined;
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  /** Changes waiting to be sent. */
  get size(): number {
    return this.#pending.size;
  }
  /**
   * Delivers an event at once while nothing is pending; returns false when
   * the stream is congested, and the event is queued instead.
   */
  sink: ((event: WatchEvent) => boolean) | undefined;
  /** Queues an event; on overflow the watcher is marked lost. */
  push(event: WatchEvent): void {
    if (this.lost) return;
    if (this.#pending.size === 0 && this.sink?.(event)) return;
    const id = event.kind === "update" ? event.affiliate.id : event.id;
    if (!this.#pending.has(id) && this.#pending.size >= this.#max) {
      this.lost = true;
      this.#pending.clear();
    } else {
      this.#pending.set(id, event);
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
  /** Takes the oldest pending change. */
  next(): WatchEvent | undefined {
    for (const [id, event] of this.#pending) {
      this.#pending.delete(id);
      return event;
    }
    return undefined;
  }
  /** Resolves when an event is queued, the watcher is lost, or `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (this.#pending.size > 0 || this.lost || signal.aborted) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

/** Counts for metrics and health. */
export interface StateStats {
  clusters: number;
  affiliates: number;
  watchers: number;
}

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

function keyOf(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function view(a: StoredAffiliate): AffiliateView {
  return { id: a.id, data: a.data, endpoints: a.endpoints.map((e) => e.bytes) };
}

/** The clusters of one service instance. */
export class DiscoveryState {
  readonly #clusters = new Map<string, Cluster>();
  readonly #limits: DiscoveryLimits;
  readonly #now: () => number;

  constructor(limits: DiscoveryLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  #cluster(id: string): Cluster {
    let c = this.#clusters.get(id);
    if (!c) {
      c = { affiliates: new Map(), watchers: new Set(), generation: 0 };
      this.#clusters.set(id, c);
    }
    return c;
  }

  #notify(c: Cluster, event: WatchEvent): void {
    c.generation++;
    for (const w of c.watchers) w.push(event);
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
    const c = this.#cluster(clusterId);
    const expiresAt = this.#now() + ttlMs;
    let a = c.affiliates.get(affiliateId);
    let changed = false;
    if (!a) {
      if (c.affiliates.size >= this.#limits.affiliatesMax) {
        throw new DiscoveryRequestError(
          "resource_exhausted",
          "too many affiliates in the cluster",
        );
      }
      a = { id: affiliateId, data: new Uint8Array(), expiresAt, endpoints: [] };
      changed = true;
    }
    const merged = a.endpoints.slice();
    for (const bytes of endpoints) {
      const key = keyOf(bytes);
      const known = merged.find((e) => e.key === key);
      if (known) {
        if (expiresAt > known.expiresAt) {
          merged[merged.indexOf(known)] = { ...known, expiresAt };
        }
        continue;
      }
      if (merged.length >= this.#limits.endpointsMax) {
        throw new DiscoveryRequestError(
          "resource_exhausted",
          "too many endpoints for the affiliate",
        );
      }
      merged.push({ bytes: bytes.slice(), key, expiresAt });
      changed = true;
    }
    a.endpoints = merged;
    if (data && data.length > 0) {
      if (keyOf(data) !== keyOf(a.data)) changed = true;
      a.data = data.slice();
      a.expiresAt = expiresAt;
    } else if (expiresAt > a.expiresAt) {
      a.expiresAt = expiresAt;
    }
    c.affiliates.set(affiliateId, a);
    if (changed) this.#notify(c, { kind: "update", affiliate: view(a) });
  }

  /** Removes an affiliate (no error when it does not exist). */
  delete(clusterId: string, affiliateId: string): void {
    checkClusterId(clusterId, this.#limits);
    checkAffiliateId(affiliateId, this.#limits);
    const c = this.#clusters.get(clusterId);
    if (!c || !c.affiliates.delete(affiliateId)) return;
    this.#notify(c, { kind: "delete", id: affiliateId });
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
   */
  watch(clusterId: string): {
    snapshot: () => AffiliateView[];
    watcher: Watcher;
    generation: string;
  } {
    const c = this.#cluster(clusterId);
    const now = this.#now();
    // Expired-but-not-collected affiliates are filtered by time: count them.
    let live = 0;
    for (const a of c.affiliates.values()) if (a.expiresAt > now) live++;
    const watcher = new Watcher(this.#limits.watcherBuffer);
    c.watchers.add(watcher);
    return {
      snapshot: () => this.list(clusterId),
      watcher,
      generation: `${c.generation}/${live}`,
    };
  }

  /** Drops a watcher (stream ended). */
  unwatch(clusterId: string, watcher: Watcher): void {
    this.#clusters.get(clusterId)?.watchers.delete(watcher);
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
          dropped++;
          this.#notify(c, { kind: "delete", id: a.id });
          continue;
        }
        const kept = a.endpoints.filter((e) => e.expiresAt > now);
        if (kept.length !== a.endpoints.length) {
          dropped += a.endpoints.length - kept.length;
          a.endpoints = kept;
          this.#notify(c, { kind: "update", affiliate: view(a) });
        }
      }
      if (c.affiliates.size === 0 && c.watchers.size === 0) {
        this.#clusters.delete(id);
      }
    }
    return dropped;
  }

  /** Counts for metrics. */
  stats(): StateStats {
    let affiliates = 0;
    let watchers = 0;
    for (const c of this.#clusters.values()) {
      affiliates += c.affiliates.size;
      watchers += c.watchers.size;
    }
    return { clusters: this.#clusters.size, affiliates, watchers };
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
            bytes: b64(e.bytes),
            expiresAt: e.expiresAt,
          })),
        })),
      })),
    };
  }

  /**
   * Loads a dump (replacing nothing that is newer); entries that break a
   * limit are skipped. Returns how many affiliates were restored.
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
          const c = this.#cluster(cd.id);
          if (c.affiliates.has(ad.id)) continue;
          if (c.affiliates.size >= this.#limits.affiliatesMax) continue;
          const endpoints = ad.endpoints.slice(0, this.#limits.endpointsMax)
            .map((e) => {
              const bytes = unb64(e.bytes);
              return { bytes, key: keyOf(bytes), expiresAt: e.expiresAt };
            })
            .filter((e) => e.bytes.length <= this.#limits.endpointMax);
          const data = unb64(ad.data);
          if (data.length > this.#limits.dataMax) continue;
          c.affiliates.set(ad.id, {
            id: ad.id,
            data,
            expiresAt: ad.expiresAt,
            endpoints,
          });
          c.generation++;
          restored++;
        } catch {
          // A damaged entry is skipped; the owner re-publishes it.
        }
      }
    }
    return restored;
  }
}
