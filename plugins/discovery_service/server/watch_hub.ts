/**
 * The watch hub of the discovery service: the Watch streams of each cluster,
 * each with its own bounded, coalescing queue, and a generation per cluster
 * that changes with every change pushed (so a snapshot encoding can be
 * reused). Stores push their changes here; it knows nothing about storage.
 *
 * @module
 */

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

interface Watched {
  watchers: Set<Watcher>;
  generation: number;
}

/**
 * The watchers of every cluster and the clusters' generations. Generations
 * come from one counter for the whole hub, so a cluster that was forgotten
 * and comes back never repeats a generation it had (a snapshot cached under
 * it would be stale).
 */
export class WatchHub {
  readonly #clusters = new Map<string, Watched>();
  #watchers = 0;
  #seq = 0;

  #entry(clusterId: string): Watched {
    let w = this.#clusters.get(clusterId);
    if (!w) {
      w = { watchers: new Set(), generation: 0 };
      this.#clusters.set(clusterId, w);
    }
    return w;
  }

  /** Registers a new watcher of `clusterId` with a queue of `buffer` affiliates. */
  add(clusterId: string, buffer: number): Watcher {
    const watcher = new Watcher(buffer);
    this.#entry(clusterId).watchers.add(watcher);
    this.#watchers++;
    return watcher;
  }

  /** Drops a watcher (stream ended). */
  remove(clusterId: string, watcher: Watcher): void {
    const w = this.#clusters.get(clusterId);
    if (!w?.watchers.delete(watcher)) return;
    this.#watchers--;
  }

  /** Pushes a change to the cluster's watchers and bumps its generation. */
  notify(clusterId: string, event: WatchEvent): void {
    const w = this.#entry(clusterId);
    w.generation = ++this.#seq;
    for (const watcher of w.watchers) watcher.push(event);
  }

  /** Bumps the generation without an event (state loaded behind watchers' backs). */
  bump(clusterId: string): void {
    this.#entry(clusterId).generation = ++this.#seq;
  }

  /** The cluster's generation (0 for one never changed). */
  generation(clusterId: string): number {
    return this.#clusters.get(clusterId)?.generation ?? 0;
  }

  /** Open watchers of one cluster. */
  watching(clusterId: string): number {
    return this.#clusters.get(clusterId)?.watchers.size ?? 0;
  }

  /** Clusters with at least one watcher. */
  watchedClusters(): string[] {
    return [...this.#clusters].filter(([, w]) => w.watchers.size > 0)
      .map(([id]) => id);
  }

  /** Forgets an unwatched cluster's entry (its generation restarts). */
  forget(clusterId: string): void {
    if (this.watching(clusterId) === 0) this.#clusters.delete(clusterId);
  }

  /** Open watchers over all clusters. */
  get watchers(): number {
    return this.#watchers;
  }
}
