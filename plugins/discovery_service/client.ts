/**
 * One connection to one discovery service: Hello, publish, Watch, refresh,
 * reconnect with backoff forever, follow redirects, leave.
 *
 * As in Sidero's client, a Watch update that does not decrypt or decode
 * keeps the affiliate's last good state (only a delete removes it), and
 * after {@linkcode DiscoveryClient.leave} nothing is published again: the
 * loop retries the delete instead.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, type GrpcTransport } from "../../web/grpc/mod.ts";
import {
  type Affiliate as WireAffiliate,
  AffiliateDeleteRequestSchema,
  AffiliateUpdateRequestSchema,
  Cluster,
  HelloRequestSchema,
  WatchRequestSchema,
} from "../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { formatIP, ipFromBytes } from "../../core/netaddr/ip.ts";
import type { DiscoveryHealth } from "../../core/plugins/types.ts";
import type {
  AffiliateSpec,
  EndpointSpec,
} from "../../core/resources/specs.ts";
import type { ClusterCipher } from "./crypto.ts";
import {
  decodeAffiliate,
  decodeEndpoint,
  encodeAffiliate,
  encodeEndpoint,
} from "./payload.ts";
import {
  backoffDelay,
  type BackoffOptions,
  DEFAULT_BACKOFF,
  type DiscoveryTarget,
  h2Target,
  parseDiscoveryUrl,
  redirectTarget,
  targetBaseUrl,
} from "./target.ts";

/** Options of a {@linkcode DiscoveryClient}. */
export interface DiscoveryClientOptions {
  /** Service URL (`http://`, `https://`, `grpc://`). */
  url: string;
  clusterId: string;
  /** This node's id (the affiliate id). */
  nodeId: string;
  cipher: ClusterCipher;
  /** Sent in Hello. */
  clientVersion: string;
  /** Name put into `sources` of received affiliates. */
  source: string;
  /** @default 30 min */
  ttlMs?: number;
  /**
   * Send observed endpoints of other nodes: as Talos does (one update per
   * observed node), and in edgespan's payload extension (this node's own
   * advertised endpoints and where it reaches each peer). @default false
   */
  harvest?: boolean;
  /**
   * Repeats Hello this often on a live session, so a changed public
   * address (a renumbered WAN) is learned and re-published, and a dead
   * connection is noticed; 0 = only on (re)connect, as Talos does.
   * @default 30 s
   */
  helloIntervalMs?: number;
  /** Extra PEM CA for TLS (self-hosted services). */
  tlsCa?: string;
  backoff?: BackoffOptions;
  now?: () => number;
  random?: () => number;
  /** Called when the remote view or the public address changed. */
  onChange?: (reason: string) => void;
  /** Warnings (rate-limited by the caller's logger where needed). */
  warn?: (message: string, fields?: Record<string, unknown>) => void;
  /** Builds the transport (tests). */
  transport?: (target: DiscoveryTarget) => Transport;
  /**
   * How long affiliates missing from the first snapshot after a reconnect
   * stay in the view, waiting to be re-published. @default 60 s
   */
  reconnectGraceMs?: number;
  /**
   * How long a Watch may stay without its first message (the snapshot,
   * which a service sends at once) before the session is dropped and a new
   * one starts: a stalled stream must not leave the box without peers.
   * @default 15 s
   */
  snapshotTimeoutMs?: number;
}

const HELLO_TIMEOUT_MS = 10_000;
const SNAPSHOT_TIMEOUT_MS = 15_000;
const CALL_TIMEOUT_MS = 30_000;
const WARN_EVERY_MS = 60_000;
const RECONNECT_GRACE_MS = 60_000;
const HELLO_INTERVAL_MS = 30_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A discovery client for one service. Call {@linkcode DiscoveryClient.run}. */
export class DiscoveryClient {
  readonly #o: DiscoveryClientOptions;
  readonly #now: () => number;
  #target: DiscoveryTarget;
  #remote = new Map<string, AffiliateSpec>();
  #publicIP: string | undefined;
  #health: DiscoveryHealth = { state: "connecting", detail: "not started" };
  #local:
    | { data: Uint8Array; endpoints: Uint8Array[]; plain: string }
    | undefined;
  #observed: readonly EndpointSpec[] = [];
  #kick: (() => void) | undefined;
  #dirty = false;
  /** Set by leave(): never publish again, delete instead. */
  #left = false;
  /** The service acknowledged the delete of this node. */
  #deleted = false;
  #running = false;
  /** The refresh (AffiliateUpdate or delete) on the wire, if any. */
  #inflight: Promise<void> | undefined;
  #lastWarn = -Infinity;
  #skipped = 0;
  #connectedOnce = false;
  #seeded = false;
  /** Affiliate id → when it leaves the view unless re-published. */
  #grace = new Map<string, number>();
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** The live session, to end it when its source address may be gone. */
  #liveSession: AbortController | undefined;
  /** The node addresses last given to {@linkcode DiscoveryClient.publish}. */
  #addresses: readonly string[] = [];
  #transport:
    | { target: DiscoveryTarget; transport: GrpcTransport }
    | undefined;

  constructor(options: DiscoveryClientOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#target = parseDiscoveryUrl(options.url);
  }

  /** Whether a Watch has delivered a snapshot since the last (re)connect. */
  get connected(): boolean {
    return this.#health.state === "connected";
  }

  /** Whether this client was ever connected. */
  get everConnected(): boolean {
    return this.#connectedOnce;
  }

  health(): DiscoveryHealth {
    return { ...this.#health };
  }

  affiliates(): AffiliateSpec[] {
    return [...this.#remote.values()];
  }

  /**
   * Starts from a view saved by an earlier run (the peer cache). The first
   * snapshot then treats it like a view from before a reconnect: peers the
   * service does not know yet (it may have restarted empty, or be hosted
   * by this very node) stay for the grace period instead of flapping.
   */
  seed(view: readonly AffiliateSpec[]): void {
    if (this.#connectedOnce) return;
    this.#remote = new Map(
      view.filter((a) => a.nodeId !== this.#o.nodeId).map((a) => [
        a.nodeId,
        structuredClone(a),
      ]),
    );
    this.#seeded = this.#remote.size > 0;
  }

  publicAddresses(): string[] {
    return this.#publicIP ? [this.#publicIP] : [];
  }

  /**
   * Sets the local affiliate; a change is published at once. Ignored after
   * {@linkcode DiscoveryClient.leave} (a new client joins again).
   */
  publish(local: AffiliateSpec, observed: readonly EndpointSpec[]): void {
    if (this.#left) return;
    const gone = this.#addresses.filter((a) => !local.addresses.includes(a));
    this.#addresses = [...local.addresses];
    if (gone.length > 0 && this.#liveSession) {
      // The connection may be bound to an address the box no longer has
      // (its WAN address moved): what it sends is lost until a timeout, so
      // reconnect now and publish the new endpoints over the new one.
      this.#liveSession.abort(
        new Error(`node address ${gone.join(", ")} is gone; reconnecting`),
      );
    }
    const plainBytes = encodeAffiliate(this.#withExtension(local, observed));
    const endpoints = local.kubespan?.endpoints ?? [];
    const plain = Array.from(plainBytes).join(",") + "|" + endpoints.join(",");
    const observedChanged = this.#o.harvest === true &&
      JSON.stringify(observed) !== JSON.stringify(this.#observed);
    this.#observed = observed;
    if (this.#local?.plain === plain && !observedChanged) return;
    this.#local = {
      plain,
      data: this.#o.cipher.sealData(plainBytes),
      endpoints: endpoints.map((e) =>
        this.#o.cipher.sealEndpoint(encodeEndpoint(e))
      ),
    };
    this.#dirty = true;
    this.#kick?.();
  }

  /**
   * The local affiliate with edgespan's extension when harvesting: its own
   * endpoints (so peers tell harvested ones apart) and where it reaches
   * the other nodes, in a stable order (no republish for a reordering):
   * first the mappings a peer does not advertise itself (what others
   * cannot know), so they survive trimming to the size limit.
   */
  #withExtension(
    local: AffiliateSpec,
    observed: readonly EndpointSpec[],
  ): AffiliateSpec {
    if (!this.#o.harvest || !local.kubespan) return local;
    const seen = new Set<string>();
    const list = observed.filter((o) => {
      const key = `${o.affiliateID}|${o.endpoint}`;
      if (o.affiliateID === this.#o.nodeId || seen.has(key)) return false;
      seen.add(key);
      return true;
    }).map((o) => ({ affiliateID: o.affiliateID, endpoint: o.endpoint }));
    const novel = (o: EndpointSpec) => {
      const peer = this.#remote.get(o.affiliateID);
      const own = peer?.edgespan?.advertised ?? peer?.kubespan?.endpoints ?? [];
      return own.includes(o.endpoint) ? 1 : 0;
    };
    list.sort((a, b) =>
      novel(a) - novel(b) ||
      (a.affiliateID < b.affiliateID
        ? -1
        : a.affiliateID > b.affiliateID
        ? 1
        : a.endpoint < b.endpoint
        ? -1
        : a.endpoint > b.endpoint
        ? 1
        : 0)
    );
    return {
      ...local,
      edgespan: {
        advertised: [...local.kubespan.endpoints],
        observed: list,
        ...(local.edgespan?.relay ? { relay: local.edgespan.relay } : {}),
        ...(local.edgespan?.searching?.length
          ? { searching: local.edgespan.searching }
          : {}),
      },
    };
  }

  /**
   * Deletes the local affiliate from the service and stops publishing it
   * for good. An update already on the wire lands first, so it cannot
   * re-create the affiliate after the delete. Throws when this one try
   * fails; a running loop then keeps retrying the delete on each refresh.
   */
  async leave(): Promise<void> {
    this.#left = true;
    this.#local = undefined;
    this.#dirty = false;
    await this.#inflight;
    try {
      await this.#deleteSelf();
    } finally {
      if (!this.#running) this.#dropConnection();
    }
  }

  async #deleteSelf(signal?: AbortSignal): Promise<void> {
    if (this.#deleted) return;
    await this.#client().affiliateDelete(
      create(AffiliateDeleteRequestSchema, {
        clusterId: this.#o.clusterId,
        affiliateId: this.#o.nodeId,
      }),
      { timeoutMs: CALL_TIMEOUT_MS, ...(signal ? { signal } : {}) },
    );
    this.#deleted = true;
  }

  /** The typed client of the current target, over one shared connection. */
  #client(): Client<typeof Cluster> {
    const t = this.#target;
    if (this.#o.transport) return createClient(Cluster, this.#o.transport(t));
    if (this.#transport?.target !== t) {
      this.#transport?.transport.close();
      this.#transport = {
        target: t,
        transport: createGrpcTransport(h2Target(t, this.#o.tlsCa), {
          userAgent: `edgespan/${this.#o.clientVersion}`,
        }),
      };
    }
    return createClient(Cluster, this.#transport.transport);
  }

  /** Drops the connection, so the next call starts a fresh one. */
  #dropConnection(): void {
    this.#transport?.transport.close();
    this.#transport = undefined;
  }

  #warn(message: string, fields: Record<string, unknown>): void {
    this.#skipped++;
    const now = this.#now();
    if (now - this.#lastWarn < WARN_EVERY_MS) return;
    this.#lastWarn = now;
    this.#o.warn?.(message, {
      ...fields,
      skippedSinceLastWarning: this.#skipped,
    });
    this.#skipped = 0;
  }

  /**
   * Opens one wire affiliate; undefined when it is this node, has no data
   * (endpoints harvested by another node) or does not decrypt or decode.
   * Single bad items (an endpoint, an address, a prefix) are dropped alone.
   */
  #decode(a: WireAffiliate): AffiliateSpec | undefined {
    if (a.id === this.#o.nodeId || a.data.length === 0) return undefined;
    try {
      const plain = this.#o.cipher.openData(a.data);
      const skipped: string[] = [];
      const onSkip = (item: string, reason: string) =>
        skipped.push(`${item}: ${reason}`);
      const endpoints: string[] = [];
      a.endpoints.forEach((e, i) => {
        try {
          endpoints.push(decodeEndpoint(this.#o.cipher.openEndpoint(e)));
        } catch (err) {
          onSkip(
            `endpoints[${i}]`,
            err instanceof Error ? err.message : String(err),
          );
        }
      });
      const spec = decodeAffiliate(plain, {
        endpoints,
        source: this.#o.source,
        onSkip,
      });
      if (skipped.length > 0) {
        this.#warn(
          "discovery: dropped parts of an affiliate that do not decode",
          { affiliate: a.id, items: skipped },
        );
      }
      return spec;
    } catch (err) {
      this.#warn(
        "discovery: skipped an affiliate that does not decrypt or decode",
        {
          affiliate: a.id,
          error: err instanceof Error ? err.message : String(err),
        },
      );
      return undefined;
    }
  }

  /** Publishes the local affiliate (or, after leave, deletes it). */
  #refresh(signal: AbortSignal): Promise<void> {
    const run = this.#left ? this.#deleteSelf(signal) : this.#update(signal);
    this.#inflight = run.catch(() => {});
    return run;
  }

  async #update(signal: AbortSignal) {
    const local = this.#local;
    if (!local) return;
    this.#dirty = false;
    const ttlMs = this.#o.ttlMs ?? 30 * 60_000;
    const ttl = create(DurationSchema, {
      seconds: BigInt(Math.floor(ttlMs / 1000)),
      nanos: (ttlMs % 1000) * 1e6,
    });
    const opts = { timeoutMs: CALL_TIMEOUT_MS, signal };
    await this.#client().affiliateUpdate(
      create(AffiliateUpdateRequestSchema, {
        clusterId: this.#o.clusterId,
        affiliateId: this.#o.nodeId,
        affiliateData: local.data,
        affiliateEndpoints: local.endpoints,
        ttl,
      }),
      opts,
    );
    if (!this.#o.harvest || this.#left) return;
    const byId = new Map<string, Uint8Array[]>();
    for (const o of this.#observed) {
      if (o.affiliateID === this.#o.nodeId) continue;
      const list = byId.get(o.affiliateID) ?? [];
      try {
        list.push(this.#o.cipher.sealEndpoint(encodeEndpoint(o.endpoint)));
      } catch {
        continue;
      }
      byId.set(o.affiliateID, list);
    }
    for (const [affiliateId, endpoints] of byId) {
      if (this.#left) return;
      await this.#client().affiliateUpdate(
        create(AffiliateUpdateRequestSchema, {
          clusterId: this.#o.clusterId,
          affiliateId,
          affiliateEndpoints: endpoints.slice(0, 64),
          ttl,
        }),
        opts,
      );
    }
  }

  /** Publishes on change and every TTL/2 until `signal` aborts; throws on failure. */
  async #refreshLoop(signal: AbortSignal) {
    const every = (this.#o.ttlMs ?? 30 * 60_000) / 2;
    while (!signal.aborted) {
      const wake = new AbortController();
      const onAbort = () => wake.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#kick = () => wake.abort();
      if (!this.#dirty) await sleep(every, wake.signal);
      signal.removeEventListener("abort", onAbort);
      this.#kick = undefined;
      if (signal.aborted) return;
      await this.#refresh(signal);
    }
  }

  #apply(
    res: { affiliates: WireAffiliate[]; deleted: boolean },
    first: boolean,
  ) {
    if (first) return this.#applySnapshot(res.affiliates);
    this.#expireGrace();
    for (const a of res.affiliates) {
      if (res.deleted) {
        this.#forget(a.id);
        continue;
      }
      // An update without usable data keeps the last good state (and a
      // pending grace period: harvested endpoints are not a re-publish).
      const spec = this.#decode(a);
      if (!spec) continue;
      this.#remote.set(a.id, spec);
      this.#grace.delete(a.id);
    }
  }

  /**
   * Replaces the view with a snapshot. After a reconnect the service may have
   * restarted empty, so affiliates it lacks are kept for a grace period
   * instead of flapping until their nodes re-publish.
   */
  #applySnapshot(affiliates: WireAffiliate[]) {
    const next = new Map<string, AffiliateSpec>();
    for (const a of affiliates) {
      const spec = this.#decode(a);
      const last = this.#remote.get(a.id);
      if (spec) next.set(a.id, spec);
      // Data that does not decode keeps the last good state.
      else if (a.data.length > 0 && last) next.set(a.id, last);
    }
    this.#grace.clear();
    if (this.#connectedOnce || this.#seeded) {
      this.#seeded = false;
      const until = this.#now() +
        (this.#o.reconnectGraceMs ?? RECONNECT_GRACE_MS);
      for (const [id, spec] of this.#remote) {
        if (next.has(id)) continue;
        next.set(id, spec);
        this.#grace.set(id, until);
      }
    }
    this.#remote = next;
    this.#armGrace();
  }

  #forget(id: string) {
    this.#remote.delete(id);
    this.#grace.delete(id);
  }

  /** Drops affiliates whose grace ended; true when any was dropped. */
  #expireGrace(): boolean {
    const now = this.#now();
    let dropped = false;
    for (const [id, until] of this.#grace) {
      if (until > now) continue;
      this.#forget(id);
      dropped = true;
    }
    return dropped;
  }

  /** Wakes up when the earliest grace ends; only while a Watch is open. */
  #armGrace() {
    this.#disarmGrace();
    if (this.#grace.size === 0) return;
    const next = Math.min(...this.#grace.values());
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = undefined;
      if (this.#expireGrace()) {
        this.#o.onChange?.("discovery reconnect grace ended");
      }
      this.#armGrace();
    }, Math.max(0, next - this.#now()));
  }

  #disarmGrace() {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  /**
   * One Hello; learns the public address the service sees (and reports a
   * change). Returns the redirect endpoint, if the service sent one.
   */
  async #hello(signal: AbortSignal): Promise<string | undefined> {
    const hello = await this.#client().hello(
      create(HelloRequestSchema, {
        clusterId: this.#o.clusterId,
        clientVersion: this.#o.clientVersion,
      }),
      { timeoutMs: HELLO_TIMEOUT_MS, signal },
    );
    if (hello.redirect?.endpoint) return hello.redirect.endpoint;
    let ip: string | undefined;
    try {
      ip = hello.clientIp.length
        ? formatIP(ipFromBytes(hello.clientIp))
        : undefined;
    } catch {
      ip = undefined;
    }
    if (ip !== this.#publicIP) {
      this.#publicIP = ip;
      this.#o.onChange?.("discovery public address changed");
    }
    return undefined;
  }

  /**
   * Repeats Hello on the live session: a new public address is learned
   * (the caller re-publishes), a failed Hello or a redirect ends the
   * session (the loop reconnects at once).
   */
  async #helloLoop(signal: AbortSignal): Promise<void> {
    const every = this.#o.helloIntervalMs ?? HELLO_INTERVAL_MS;
    if (every <= 0) return;
    while (!signal.aborted) {
      await sleep(every, signal);
      if (signal.aborted) return;
      const redirect = await this.#hello(signal);
      if (redirect) {
        this.#target = redirectTarget(this.#target, redirect);
        throw new Error(`redirected to ${redirect}`);
      }
    }
  }

  /** One session: Hello, publish, Watch; returns normally on redirect. */
  async #session(
    signal: AbortSignal,
    onReady: () => void,
  ): Promise<"redirect" | "ended"> {
    const started = this.#now();
    const redirect = await this.#hello(signal);
    const latencyMs = this.#now() - started;
    if (redirect) {
      this.#target = redirectTarget(this.#target, redirect);
      return "redirect";
    }
    await this.#refresh(signal);
    const client = this.#client();
    const session = new AbortController();
    this.#liveSession = session;
    const stop = () => session.abort();
    signal.addEventListener("abort", stop, { once: true });
    const refresher = this.#refreshLoop(session.signal).catch((err) => {
      session.abort(err);
    });
    const greeter = this.#helloLoop(session.signal).catch((err) => {
      if (!session.signal.aborted) session.abort(err);
    });
    const snapshotMs = this.#o.snapshotTimeoutMs ?? SNAPSHOT_TIMEOUT_MS;
    const snapshotTimer = setTimeout(() => {
      const why = `no Watch snapshot within ${snapshotMs} ms; reconnecting`;
      this.#warn(`discovery: ${why}`, { service: targetBaseUrl(this.#target) });
      session.abort(new Error(why));
    }, snapshotMs);
    try {
      let first = true;
      for await (
        const res of client.watch(
          create(WatchRequestSchema, { clusterId: this.#o.clusterId }),
          { signal: session.signal },
        )
      ) {
        this.#apply(res, first);
        if (first) {
          first = false;
          clearTimeout(snapshotTimer);
          this.#connectedOnce = true;
          this.#health = {
            state: "connected",
            detail: targetBaseUrl(this.#target),
            latencyMs,
          };
          onReady();
        }
        this.#o.onChange?.("discovery view changed");
      }
      if (session.signal.aborted && session.signal.reason instanceof Error) {
        throw session.signal.reason;
      }
      return "ended";
    } catch (err) {
      // The call fails as "cancelled" when the session is ended on purpose;
      // the reason it was ended is what the operator needs to see.
      const reason = session.signal.reason;
      if (session.signal.aborted && reason instanceof Error) throw reason;
      throw err;
    } finally {
      clearTimeout(snapshotTimer);
      // While disconnected nothing can be re-published; the next snapshot
      // starts a new grace period.
      this.#disarmGrace();
      signal.removeEventListener("abort", stop);
      if (this.#liveSession === session) this.#liveSession = undefined;
      session.abort();
      await refresher;
      await greeter;
    }
  }

  /** Runs until `signal` aborts; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    this.#running = true;
    try {
      await this.#loop(signal);
    } finally {
      this.#running = false;
    }
  }

  /**
   * A session ended: the new health, and when a live connection was lost,
   * a change for the agent (so it says so now, not at its next tick).
   */
  #lost(health: DiscoveryHealth): void {
    const wasConnected = this.#health.state === "connected";
    this.#health = health;
    if (wasConnected) this.#o.onChange?.("discovery connection lost");
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    const random = this.#o.random ?? Math.random;
    while (!signal.aborted) {
      if (attempt > 0) {
        await sleep(
          backoffDelay(attempt, random(), this.#o.backoff ?? DEFAULT_BACKOFF),
          signal,
        );
        if (signal.aborted) break;
      }
      attempt++;
      try {
        const outcome = await this.#session(signal, () => (attempt = 0));
        if (outcome === "redirect") attempt = 0;
        if (outcome === "ended" && !signal.aborted) {
          this.#lost({ state: "connecting", detail: "watch ended" });
        }
      } catch (err) {
        this.#dropConnection();
        if (signal.aborted) break;
        this.#lost({
          state: "connecting",
          detail: `${targetBaseUrl(this.#target)}: ${
            err instanceof Error ? err.message : String(err)
          }`,
        });
      }
    }
    this.#dropConnection();
    this.#health = { state: "connecting", detail: "stopped" };
  }
}
