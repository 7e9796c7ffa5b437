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

/**
 * An endpoint is kept as its bytes in a one-byte string only: a separate
 * Uint8Array per endpoint costs a backing store of its own (about 400 bytes
 * more each, 64 per affiliate).
 */
interface StoredEndpoint {
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

/**
 * The bytes as a flat one-byte string. `String.fromCharCode` over a chunk
 * builds it in one piece; appending byte by byte would leave a chain of cons
 * strings behind (about 1 KiB for a 32-byte endpoint).
 */
function keyOf(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The endpoints as views into one buffer (one backing store per view). */
function endpointBytes(endpoints: readonly StoredEndpoint[]): Uint8Array[] {
  let total = 0;
  for (const e of endpoints) total += e.key.length;
  const buf = new Uint8Array(total);
  const out: Uint8Array[] = [];
  let o = 0;
  for (const { key } of endpoints) {
    for (let i = 0; i < key.length; i++) buf[o + i] = key.charCodeAt(i);
    out.push(buf.subarray(o, o + key.length));
    o += key.length;
  }
  return out;
}

function view(a: StoredAffiliate): AffiliateView {
  return { id: a.id, data: a.data, endpoints: endpointBytes(a.endpoints) };
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
export class DiscoveryState {
  readonly #clusters = new Map<string, Cluster>();
  readonly #limits: DiscoveryLimits;
  readonly #now: () => number;
  #affiliates = 0;
  #watchers = 0;

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
    const existing = this.#clusters.get(clusterId);
    const expiresAt = this.#now() + ttlMs;
    let a = existing?.affiliates.get(affiliateId);
    let changed = false;
    if (!a) {
      this.#checkNewAffiliate(existing);
      a = { id: affiliateId, data: new Uint8Array(), expiresAt, endpoints: [] };
      changed = true;
    }
    const merged = a.endpoints.slice();
    for (const bytes of endpoints) {
      const key = keyOf(bytes);
      const i = merged.findIndex((e) => e.key === key);
      if (i >= 0) {
        if (expiresAt > merged[i]!.expiresAt) merged[i] = { key, expiresAt };
        continue;
      }
      if (merged.length >= this.#limits.endpointsMax) {
        throw exhausted("too many endpoints for the affiliate");
      }
      merged.push({ key, expiresAt });
      changed = true;
    }
    // Every check passed: from here on nothing throws.
    const c = existing ?? this.#cluster(clusterId);
    a.endpoints = merged;
    if (data && data.length > 0) {
      if (!sameBytes(data, a.data)) {
        changed = true;
        a.data = data.slice();
      }
      a.expiresAt = expiresAt;
    } else if (expiresAt > a.expiresAt) {
      a.expiresAt = expiresAt;
    }
    if (!c.affiliates.has(affiliateId)) this.#affiliates++;
    c.affiliates.set(affiliateId, a);
    if (changed) this.#notify(c, { kind: "update", affiliate: view(a) });
  }

  /** Removes an affiliate (no error when it does not exist). */
  delete(clusterId: string, affiliateId: string): void {
    checkClusterId(clusterId, this.#limits);
    checkAffiliateId(affiliateId, this.#limits);
    const c = this.#clusters.get(clusterId);
    if (!c || !c.affiliates.delete(affiliateId)) return;
    this.#affiliates--;
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
   *
   * @throws {DiscoveryRequestError} when the watcher or cluster total is reached
   */
  watch(clusterId: string): {
    snapshot: () => AffiliateView[];
    watcher: Watcher;
    generation: string;
  } {
    if (this.#watchers >= this.#limits.watchersMax) {
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
    const watcher = new Watcher(this.#limits.watcherBuffer);
    c.watchers.add(watcher);
    this.#watchers++;
    return {
      snapshot: () => this.list(clusterId),
      watcher,
      generation: `${c.generation}/${live}`,
    };
  }

  /** Drops a watcher (stream ended). */
  unwatch(clusterId: string, watcher: Watcher): void {
    if (this.#clusters.get(clusterId)?.watchers.delete(watcher)) {
      this.#watchers--;
    }
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
    return {
      clusters: this.#clusters.size,
      affiliates: this.#affiliates,
      watchers: this.#watchers,
    };
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
          c.generation++;
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
