/**
 * The etcd store: any number of discovery replicas share their clusters
 * through one etcd cluster.
 *
 * - Each affiliate is one key (`etcd_layout.ts`) attached to a lease that
 *   outlives its expiry by a few seconds: the replicas' GC deletes it at the
 *   exact time (a compare on its mod revision, so only one replica does),
 *   the lease removes it when no replica runs.
 * - Every replica mirrors the whole prefix: a paged range at one revision,
 *   then one etcd watch from the next revision. Every change, whichever
 *   replica wrote it, reaches this replica's watchers through that watch, and
 *   only when what watchers see changed (a replayed or expiry-only put is
 *   not an event). A broken watch resumes from the last applied revision + 1;
 *   a compacted history is re-read and diffed against the mirror.
 * - Refreshes are compare-and-swap on the key's mod revision (merge, then
 *   write if nobody wrote in between, else merge again).
 * - New affiliates are admitted by a transaction whose compare says "no
 *   affiliate key was created after revision R" (CREATE < R+1 over the
 *   whole affiliate range), R being the revision the mirror's counts are
 *   exact at: so the per-cluster (1024), total-affiliate and cluster limits
 *   hold across replicas. A replica batches its pending creations into one
 *   transaction; a failed compare means another creation came first, and the
 *   batch is retried once the mirror caught up.
 * - A replica that cannot reach etcd (watch down or the 1 s probe failing)
 *   refuses writes with Unavailable and says so in `/readyz`.
 *
 * @module
 */
import {
  expire,
  mergeUpdate,
  sameRecord,
  sameView,
  type StoredAffiliate,
  view,
} from "./affiliate_record.ts";
import { admitCreations } from "./etcd_admission.ts";
import {
  decodeAffiliate,
  DEFAULT_ETCD_PREFIX,
  encodeAffiliate,
  EtcdLayout,
} from "./etcd_layout.ts";
import {
  b64,
  EtcdClient,
  type EtcdClientOptions,
  EtcdCompactedError,
  EtcdError,
  type EtcdEvent,
  type EtcdKv,
  type EtcdOp,
  LATENCY_BUCKETS,
  prefixEnd,
} from "./etcd_gateway.ts";
import {
  checkAffiliateId,
  checkClusterId,
  checkUpdate,
  type DiscoveryLimits,
  DiscoveryRequestError,
} from "./limits.ts";
import {
  type DiscoveryStore,
  type StateStats,
  type StoreHealth,
  StoreUnavailableError,
  type WatchRegistration,
} from "./store.ts";
import { type AffiliateView, type Watcher, WatchHub } from "./watch_hub.ts";

/** Options of the etcd store. */
export interface EtcdStoreOptions extends EtcdClientOptions {
  /** Key prefix shared by the replicas. @default "/edgespan/discovery/" */
  prefix?: string;
  /** How often reachability and the head revision are probed. @default 1_000 */
  probeIntervalMs?: number;
}

interface Entry {
  rec: StoredAffiliate;
  mod: number;
  lease: string;
}

interface PendingCreate {
  clusterId: string;
  rec: StoredAffiliate;
  rounds: number;
  resolve: (r: Entry | undefined) => void;
  reject: (err: unknown) => void;
}

/** Creations per transaction (etcd's default limit is 128 operations). */
const CREATE_BATCH = 48;
/** Rounds a write may lose to others before it is refused. */
const MAX_ROUNDS = 32;
/** How long a write waits for the mirror to show it. */
const APPLY_WAIT_MS = 5_000;

function exhausted(message: string): DiscoveryRequestError {
  return new DiscoveryRequestError("resource_exhausted", message);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      r();
    }, { once: true });
  });

/** The clusters of every replica, in etcd. */
export class EtcdStore implements DiscoveryStore {
  readonly #limits: DiscoveryLimits;
  readonly #now: () => number;
  readonly #log: (message: string, fields?: Record<string, unknown>) => void;
  readonly #client: EtcdClient;
  readonly #layout: EtcdLayout;
  readonly #hub = new WatchHub();
  readonly #mirror = new Map<string, Map<string, Entry>>();
  readonly #probeMs: number;
  #affiliates = 0;
  /** Every event up to this revision is in the mirror. */
  #rev = 0;
  #headRev = 0;
  #loaded = false;
  /** The mirror was read from etcd at least once (it may be stale since). */
  #everLoaded = false;
  #watchUp = false;
  #probeOk = false;
  #reason = "not connected to etcd yet";
  #revWaiters: { rev: number; resolve: () => void }[] = [];
  #creates: PendingCreate[] = [];
  #creating = false;
  readonly #leases = new Map<number, Promise<string>>();
  /** Expiry writes in flight (key and mod revision), not sent twice. */
  readonly #expiring = new Set<string>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #probe: ReturnType<typeof setInterval> | undefined;
  #probing = false;
  readonly counts = {
    watchRestarts: 0,
    reloads: 0,
    conflicts: 0,
    events: 0,
  };

  constructor(
    limits: DiscoveryLimits,
    now: () => number,
    options: EtcdStoreOptions,
    log: (message: string, fields?: Record<string, unknown>) => void = () => {},
  ) {
    this.#limits = limits;
    this.#now = now;
    this.#log = log;
    this.#client = new EtcdClient(options);
    this.#layout = new EtcdLayout(options.prefix ?? DEFAULT_ETCD_PREFIX);
    this.#probeMs = options.probeIntervalMs ?? 1_000;
  }

  /** Starts mirroring; resolves when ready or after `waitMs`. */
  async start(waitMs = 5_000): Promise<void> {
    this.#loop ??= this.#run();
    if (this.#probe === undefined) {
      void this.#probeOnce();
      this.#probe = setInterval(() => void this.#probeOnce(), this.#probeMs);
    }
    const end = Date.now() + waitMs;
    while (!this.health().ready && Date.now() < end) await sleep(20);
  }

  // ---------------------------------------------------------------- mirror

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let backoff = 100;
    while (!signal.aborted) {
      try {
        if (!this.#loaded) await this.#load();
        const prefix = this.#layout.affiliatesPrefix;
        await this.#client.watch(
          prefix,
          prefixEnd(prefix),
          this.#rev + 1,
          (events) => this.#apply(events),
          () => {
            this.#watchUp = true;
            this.#probeOk = true; // etcd answered just now
            backoff = 100;
            this.#log("discovery store: watching etcd", {
              endpoint: this.#client.endpoint,
              fromRevision: this.#rev + 1,
            });
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) break;
        const was = this.#watchUp;
        this.#watchUp = false;
        this.counts.watchRestarts++;
        this.#reason = `etcd watch lost: ${(err as Error).message}`;
        if (err instanceof EtcdCompactedError) {
          // Events between our revision and the compaction are gone: re-read.
          this.#loaded = false;
        } else if (was) {
          this.#client.rotate();
        }
        if (was || err instanceof EtcdCompactedError) {
          this.#log("discovery store: etcd watch ended; resuming", {
            error: (err as Error).message,
            fromRevision: this.#rev + 1,
          });
        }
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  /** Reads the whole prefix at one revision and diffs it into the mirror. */
  async #load(): Promise<void> {
    const prefix = this.#layout.affiliatesPrefix;
    const end = prefixEnd(prefix);
    let from = prefix;
    let revision = 0;
    const kvs: EtcdKv[] = [];
    while (true) {
      const page = await this.#client.range(from, end, {
        limit: 512,
        timeoutMs: 15_000, // up to 512 full affiliates per page
        ...(revision ? { revision } : {}),
      });
      revision ||= page.revision;
      kvs.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) break;
      const last = page.kvs[page.kvs.length - 1]!.key;
      from = new Uint8Array([...last, 0]);
    }
    const seen = new Set<string>();
    for (const kv of kvs) {
      const ids = this.#layout.parseKey(kv.key);
      if (!ids) continue;
      seen.add(`${ids.clusterId}\u0000${ids.affiliateId}`);
      this.#put(ids.clusterId, ids.affiliateId, kv);
    }
    for (const [clusterId, m] of [...this.#mirror]) {
      for (const id of [...m.keys()]) {
        if (!seen.has(`${clusterId}\u0000${id}`)) this.#drop(clusterId, id);
      }
    }
    if (this.#loaded || this.#rev > 0) this.counts.reloads++;
    this.#rev = Math.max(this.#rev, revision);
    this.#loaded = true;
    this.#everLoaded = true;
    this.#wakeRev();
  }

  #apply(events: EtcdEvent[]): void {
    for (const ev of events) {
      this.counts.events++;
      const ids = this.#layout.parseKey(ev.kv.key);
      if (ids) {
        if (ev.type === "DELETE") this.#drop(ids.clusterId, ids.affiliateId);
        else this.#put(ids.clusterId, ids.affiliateId, ev.kv);
      }
      if (ev.kv.modRevision > this.#rev) this.#rev = ev.kv.modRevision;
    }
    this.#wakeRev();
  }

  #put(clusterId: string, id: string, kv: EtcdKv): void {
    const rec = decodeAffiliate(id, kv.value);
    if (!rec) return;
    let m = this.#mirror.get(clusterId);
    if (!m) {
      m = new Map();
      this.#mirror.set(clusterId, m);
    }
    const prev = m.get(id);
    if (prev && prev.mod >= kv.modRevision) return; // seen already
    m.set(id, { rec, mod: kv.modRevision, lease: kv.lease });
    if (!prev) this.#affiliates++;
    if (!prev || !sameView(prev.rec, rec)) {
      this.#hub.notify(clusterId, { kind: "update", affiliate: view(rec) });
    }
  }

  #drop(clusterId: string, id: string): void {
    const m = this.#mirror.get(clusterId);
    if (!m?.delete(id)) return;
    this.#affiliates--;
    if (m.size === 0) this.#mirror.delete(clusterId);
    this.#hub.notify(clusterId, { kind: "delete", id });
  }

  #wakeRev(): void {
    if (this.#revWaiters.length === 0) return;
    const keep = [];
    for (const w of this.#revWaiters) {
      if (w.rev <= this.#rev) w.resolve();
      else keep.push(w);
    }
    this.#revWaiters = keep;
  }

  /** Resolves once the mirror shows revision `rev` (or after a while). */
  #applied(rev: number): Promise<void> {
    if (rev <= this.#rev) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, APPLY_WAIT_MS);
      this.#revWaiters.push({
        rev,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  async #probeOnce(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      const prefix = this.#layout.affiliatesPrefix;
      const r = await this.#client.range(prefix, prefixEnd(prefix), {
        countOnly: true,
      });
      this.#headRev = r.revision;
      if (!this.#probeOk) {
        this.#log("discovery store: etcd reachable", {
          endpoint: this.#client.endpoint,
        });
      }
      this.#probeOk = true;
    } catch (err) {
      if (this.#probeOk) {
        this.#log("discovery store: etcd unreachable; refusing writes", {
          error: (err as Error).message,
        });
      }
      this.#probeOk = false;
      this.#reason = `etcd unreachable: ${(err as Error).message}`;
    } finally {
      this.#probing = false;
    }
  }

  // ---------------------------------------------------------------- writes

  #requireReady(): void {
    const h = this.health();
    if (!h.ready) {
      throw new StoreUnavailableError(
        `this discovery replica cannot reach etcd (${h.reason}); writes are refused until it can, use another replica`,
      );
    }
  }

  /** A lease that ends a few seconds after `expiresAt` (shared per second). */
  #lease(expiresAt: number): Promise<string> {
    const bucket = Math.ceil(expiresAt / 1000) + 2;
    const nowS = this.#now() / 1000;
    for (const [b] of this.#leases) if (b < nowS) this.#leases.delete(b);
    let p = this.#leases.get(bucket);
    if (!p) {
      p = this.#client.leaseGrant(Math.max(2, Math.ceil(bucket - nowS)));
      this.#leases.set(bucket, p);
      p.catch(() => this.#leases.delete(bucket));
    }
    return p;
  }

  #entry(clusterId: string, id: string): Entry | undefined {
    return this.#mirror.get(clusterId)?.get(id);
  }

  #entryOf(id: string, kv: EtcdKv | undefined): Entry | undefined {
    if (!kv) return undefined;
    const rec = decodeAffiliate(id, kv.value);
    return rec ? { rec, mod: kv.modRevision, lease: kv.lease } : undefined;
  }

  #putOp(clusterId: string, rec: StoredAffiliate, lease: string): EtcdOp {
    return {
      request_put: {
        key: b64(this.#layout.affiliateKey(clusterId, rec.id)),
        value: b64(encodeAffiliate(rec)),
        lease,
      },
    };
  }

  #rangeOp(clusterId: string, id: string): EtcdOp {
    return {
      request_range: { key: b64(this.#layout.affiliateKey(clusterId, id)) },
    };
  }

  /**
   * Runs `fn`; if etcd forgot a lease (e.g. restored from a backup), once
   * more with the lease cache dropped and `fresh` set (grant new ones).
   */
  async #withLease<T>(fn: (fresh: boolean) => Promise<T>): Promise<T> {
    try {
      return await fn(false);
    } catch (err) {
      if (err instanceof EtcdError && /lease not found/.test(err.message)) {
        this.#leases.clear();
        return await fn(true);
      }
      throw err;
    }
  }

  async update(
    clusterId: string,
    affiliateId: string,
    data: Uint8Array | undefined,
    endpoints: readonly Uint8Array[],
    ttlMs: number,
  ): Promise<void> {
    checkClusterId(clusterId, this.#limits);
    checkAffiliateId(affiliateId, this.#limits);
    checkUpdate(data, endpoints, ttlMs, this.#limits);
    this.#requireReady();
    const expiresAt = this.#now() + ttlMs;
    const key = this.#layout.affiliateKey(clusterId, affiliateId);
    let cur = this.#entry(clusterId, affiliateId);
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (!cur) {
          const { next } = mergeUpdate(
            undefined,
            affiliateId,
            data,
            endpoints,
            expiresAt,
            this.#limits.endpointsMax,
          );
          cur = await this.#create(clusterId, next);
          if (!cur) return; // created
          continue; // someone else created it first: merge into theirs
        }
        const { next } = mergeUpdate(
          cur.rec,
          affiliateId,
          data,
          endpoints,
          expiresAt,
          this.#limits.endpointsMax,
        );
        const compare = [{
          target: "MOD",
          result: "EQUAL",
          key: b64(key),
          mod_revision: String(cur.mod),
        }];
        const failure = [this.#rangeOp(clusterId, affiliateId)];
        let t;
        if (sameRecord(next, cur.rec)) {
          // Nothing to store, if our copy is current.
          t = await this.#client.txn(compare, [], failure);
          if (t.succeeded) return;
        } else {
          const lease = next.expiresAt === cur.rec.expiresAt
            ? cur.lease
            : undefined;
          t = await this.#withLease(async (fresh) =>
            this.#client.txn(
              compare,
              [this.#putOp(
                clusterId,
                next,
                (fresh ? undefined : lease) ??
                  await this.#lease(next.expiresAt),
              )],
              failure,
            )
          );
          if (t.succeeded) {
            await this.#applied(t.revision);
            return;
          }
        }
        this.counts.conflicts++;
        cur = this.#entryOf(affiliateId, t.ranges[0]?.[0]);
      }
    } catch (err) {
      throw this.#storeError(err);
    }
    throw new StoreUnavailableError(
      "the affiliate changes too fast in etcd to merge this update; try again",
    );
  }

  #storeError(err: unknown): unknown {
    if (
      err instanceof DiscoveryRequestError ||
      err instanceof StoreUnavailableError
    ) return err;
    return new StoreUnavailableError(
      `etcd did not take the write: ${(err as Error).message}`,
      { cause: err },
    );
  }

  /**
   * Queues a new affiliate; resolves undefined once created, or with the
   * entry someone else created first.
   */
  #create(clusterId: string, rec: StoredAffiliate): Promise<Entry | undefined> {
    return new Promise((resolve, reject) => {
      this.#creates.push({ clusterId, rec, rounds: 0, resolve, reject });
      if (!this.#creating) void this.#drainCreates();
    });
  }

  async #drainCreates(): Promise<void> {
    this.#creating = true;
    try {
      while (this.#creates.length > 0) {
        const batch = this.#takeBatch();
        try {
          await this.#createBatch(batch);
        } catch (err) {
          for (const p of batch) p.reject(this.#storeError(err));
        }
      }
    } finally {
      this.#creating = false;
    }
  }

  /** Up to CREATE_BATCH pending creations, one per affiliate. */
  #takeBatch(): PendingCreate[] {
    const batch: PendingCreate[] = [];
    const keys = new Set<string>();
    const rest: PendingCreate[] = [];
    for (const p of this.#creates) {
      const k = `${p.clusterId}\u0000${p.rec.id}`;
      if (batch.length < CREATE_BATCH && !keys.has(k)) {
        keys.add(k);
        batch.push(p);
      } else rest.push(p);
    }
    this.#creates = rest;
    return batch;
  }

  async #createBatch(batch: PendingCreate[]): Promise<void> {
    const rev = this.#rev;
    const fresh: PendingCreate[] = [];
    for (const p of batch) {
      const existing = this.#entry(p.clusterId, p.rec.id);
      if (existing) p.resolve(existing);
      else fresh.push(p);
    }
    // Counts at `rev` (the mirror), plus what this batch adds.
    const { admitted, refused: over } = admitCreations(fresh, {
      total: this.#affiliates,
      clusters: this.#clusterCount(),
      inCluster: (c) => this.#mirror.get(c)?.size ?? 0,
      known: (c) => this.#mirror.has(c) || this.#hub.watching(c) > 0,
    }, this.#limits);
    const refused = over.map(({ item, why }) => ({ p: item, why }));
    if (admitted.length === 0 && refused.length === 0) return;
    const prefix = this.#layout.affiliatesPrefix;
    // The counts above are exact iff no affiliate was created after `rev`.
    const compare: Record<string, unknown>[] = [{
      target: "CREATE",
      result: "LESS",
      key: b64(prefix),
      range_end: b64(prefixEnd(prefix)),
      create_revision: String(rev + 1),
    }];
    const success: EtcdOp[] = [];
    for (const p of admitted) {
      compare.push({
        target: "CREATE",
        result: "EQUAL",
        key: b64(this.#layout.affiliateKey(p.clusterId, p.rec.id)),
        create_revision: "0",
      });
    }
    const t = await this.#withLease(async () => {
      success.length = 0;
      for (const p of admitted) {
        success.push(
          this.#putOp(p.clusterId, p.rec, await this.#lease(p.rec.expiresAt)),
        );
      }
      return this.#client.txn(
        compare,
        success,
        admitted.map((p) => this.#rangeOp(p.clusterId, p.rec.id)),
      );
    });
    if (t.succeeded) {
      await this.#applied(t.revision);
      for (const p of admitted) p.resolve(undefined);
      for (const { p, why } of refused) p.reject(exhausted(why));
      return;
    }
    // Someone created an affiliate first: those that exist now merge into
    // it; the rest try again once the mirror shows the new counts.
    this.counts.conflicts++;
    const retry: PendingCreate[] = refused.map((r) => r.p);
    admitted.forEach((p, i) => {
      const e = this.#entryOf(p.rec.id, t.ranges[i]?.[0]);
      if (e) p.resolve(e);
      else retry.push(p);
    });
    await this.#applied(t.revision);
    for (const p of retry) {
      if (++p.rounds >= MAX_ROUNDS) {
        p.reject(
          new StoreUnavailableError(
            "too many replicas create affiliates at once; try again",
          ),
        );
      } else this.#creates.unshift(p);
    }
  }

  #clusterCount(): number {
    let n = this.#mirror.size;
    for (const id of this.#hub.watchedClusters()) {
      if (!this.#mirror.has(id)) n++;
    }
    return n;
  }

  async delete(clusterId: string, affiliateId: string): Promise<void> {
    checkClusterId(clusterId, this.#limits);
    checkAffiliateId(affiliateId, this.#limits);
    this.#requireReady();
    try {
      const t = await this.#client.txn([], [{
        request_delete_range: {
          key: b64(this.#layout.affiliateKey(clusterId, affiliateId)),
        },
      }], []);
      await this.#applied(t.revision);
    } catch (err) {
      throw this.#storeError(err);
    }
  }

  // ---------------------------------------------------------------- reads

  list(clusterId: string): AffiliateView[] {
    checkClusterId(clusterId, this.#limits);
    this.#requireLoaded();
    const m = this.#mirror.get(clusterId);
    if (!m) return [];
    const now = this.#now();
    const out: AffiliateView[] = [];
    for (const e of m.values()) {
      if (e.rec.expiresAt > now) out.push(view(e.rec));
    }
    return out;
  }

  /** Reads before the first load would answer "no affiliates": refused. */
  #requireLoaded(): void {
    if (this.#everLoaded) return;
    throw new StoreUnavailableError(
      `this discovery replica has not read the clusters from etcd yet (${this.health().reason}); try again shortly or use another replica`,
    );
  }

  watch(clusterId: string): WatchRegistration {
    this.#requireLoaded();
    if (this.#hub.watchers >= this.#limits.watchersMax) {
      throw exhausted(
        `too many watchers in the service (limit ${this.#limits.watchersMax})`,
      );
    }
    if (
      !this.#mirror.has(clusterId) && this.#hub.watching(clusterId) === 0 &&
      this.#clusterCount() >= this.#limits.clustersMax
    ) {
      throw exhausted(
        `too many clusters in the service (limit ${this.#limits.clustersMax})`,
      );
    }
    const now = this.#now();
    let live = 0;
    for (const e of this.#mirror.get(clusterId)?.values() ?? []) {
      if (e.rec.expiresAt > now) live++;
    }
    const watcher = this.#hub.add(clusterId, this.#limits.watcherBuffer);
    return {
      snapshot: () => this.list(clusterId),
      watcher,
      generation: `${this.#hub.generation(clusterId)}/${live}`,
    };
  }

  unwatch(clusterId: string, watcher: Watcher): void {
    this.#hub.remove(clusterId, watcher);
    if (this.#hub.watching(clusterId) === 0 && !this.#mirror.has(clusterId)) {
      this.#hub.forget(clusterId);
    }
  }

  /**
   * Deletes expired affiliates and prunes expired endpoints in etcd (each a
   * compare on the mod revision this replica saw, so of several replicas
   * one does it); watchers hear of it through the watch. Returns how many
   * writes were started.
   */
  gc(): number {
    if (!this.health().ready) return 0;
    const now = this.#now();
    let started = 0;
    for (const [clusterId, m] of this.#mirror) {
      for (const e of m.values()) {
        const left = expire(e.rec, now);
        if (left === e.rec) continue;
        const key = b64(this.#layout.affiliateKey(clusterId, e.rec.id));
        const flight = `${key}@${e.mod}`;
        if (this.#expiring.has(flight)) continue;
        this.#expiring.add(flight);
        const compare = [{
          target: "MOD",
          result: "EQUAL",
          key,
          mod_revision: String(e.mod),
        }];
        const op: EtcdOp = left
          ? this.#putOp(clusterId, left, e.lease)
          : { request_delete_range: { key } };
        started++;
        this.#client.txn(compare, [op], [])
          .then((t) => this.#applied(t.revision))
          .catch((err) =>
            this.#log("discovery store: expiry write failed; next GC retries", {
              error: (err as Error).message,
            })
          )
          .finally(() => this.#expiring.delete(flight));
      }
    }
    return started;
  }

  stats(): StateStats {
    return {
      clusters: this.#mirror.size,
      affiliates: this.#affiliates,
      watchers: this.#hub.watchers,
    };
  }

  health(): StoreHealth {
    if (this.#watchUp && this.#probeOk) return { ready: true };
    return { ready: false, reason: this.#reason };
  }

  /** The revision every event up to which is applied (tests). */
  get revision(): number {
    return this.#rev;
  }

  metricLines(): string[] {
    const lines = [
      "# HELP edgespan_discovery_store_ready 1 when the store takes writes (etcd reachable and watched).",
      "# TYPE edgespan_discovery_store_ready gauge",
      `edgespan_discovery_store_ready{store="etcd"} ${
        this.health().ready ? 1 : 0
      }`,
      "# HELP edgespan_discovery_store_revision etcd revisions: applied = every event up to it is served, etcd = the head at the last probe.",
      "# TYPE edgespan_discovery_store_revision gauge",
      `edgespan_discovery_store_revision{kind="applied"} ${this.#rev}`,
      `edgespan_discovery_store_revision{kind="etcd"} ${this.#headRev}`,
      "# HELP edgespan_discovery_store_revision_lag Revisions the replica is behind the etcd head (exact when the etcd cluster serves only discovery).",
      "# TYPE edgespan_discovery_store_revision_lag gauge",
      `edgespan_discovery_store_revision_lag ${
        Math.max(0, this.#headRev - this.#rev)
      }`,
      "# HELP edgespan_discovery_store_events_total Store events by kind (watch restarts, re-reads after compaction, lost compare-and-swap rounds, etcd events applied).",
      "# TYPE edgespan_discovery_store_events_total counter",
      `edgespan_discovery_store_events_total{kind="watch_restart"} ${this.counts.watchRestarts}`,
      `edgespan_discovery_store_events_total{kind="reload"} ${this.counts.reloads}`,
      `edgespan_discovery_store_events_total{kind="conflict"} ${this.counts.conflicts}`,
      `edgespan_discovery_store_events_total{kind="etcd_event"} ${this.counts.events}`,
      "# HELP edgespan_discovery_store_requests_total etcd calls by operation and result.",
      "# TYPE edgespan_discovery_store_requests_total counter",
    ];
    const stats = [...this.#client.stats].sort((a, b) =>
      a[0].localeCompare(b[0])
    );
    for (const [op, s] of stats) {
      lines.push(
        `edgespan_discovery_store_requests_total{op="${op}",result="ok"} ${
          s.calls - s.errors
        }`,
        `edgespan_discovery_store_requests_total{op="${op}",result="error"} ${s.errors}`,
      );
    }
    lines.push(
      "# HELP edgespan_discovery_store_request_duration_seconds etcd call latency.",
      "# TYPE edgespan_discovery_store_request_duration_seconds histogram",
    );
    for (const [op, s] of stats) {
      let cum = 0;
      LATENCY_BUCKETS.forEach((b, i) => {
        cum += s.buckets[i]!;
        lines.push(
          `edgespan_discovery_store_request_duration_seconds_bucket{op="${op}",le="${b}"} ${cum}`,
        );
      });
      lines.push(
        `edgespan_discovery_store_request_duration_seconds_bucket{op="${op}",le="+Inf"} ${s.calls}`,
        `edgespan_discovery_store_request_duration_seconds_sum{op="${op}"} ${
          s.seconds.toFixed(6)
        }`,
        `edgespan_discovery_store_request_duration_seconds_count{op="${op}"} ${s.calls}`,
      );
    }
    return lines;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    if (this.#probe !== undefined) clearInterval(this.#probe);
    for (const w of this.#revWaiters) w.resolve();
    this.#revWaiters = [];
    await this.#loop;
    this.#client.close();
  }
}
