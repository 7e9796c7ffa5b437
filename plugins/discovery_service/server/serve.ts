/**
 * Runs the discovery service: gRPC over HTTP/2 (h2c, or TLS with a
 * certificate), `/healthz` and `/metrics` on the same port, periodic garbage
 * collection and an optional state snapshot file.
 *
 * @module
 */
import { parseAddrPort } from "../../../core/netaddr/ip.ts";
import { Gate } from "./gate.ts";
import {
  acceptLoop,
  type HeaderField,
  type PlainResponse,
  type ServerStream,
} from "../../../web/h2/mod.ts";
import { DEFAULT_LIMITS, type DiscoveryLimits } from "./limits.ts";
import { renderMetrics, RequestCounters } from "./metrics.ts";
import { RateLimiter, type RateLimitOptions } from "./rate_limiter.ts";
import { CLUSTER_SERVICE_PATH, createClusterService } from "./service.ts";
import { clientKey } from "./client_address.ts";
import { loadStateFile, saveStateFile } from "./snapshot.ts";
import { DiscoveryState } from "./state.ts";
import type { DiscoveryStore } from "./store.ts";
import { EtcdStore, type EtcdStoreOptions } from "./etcd_store.ts";

/** How often GC runs unless told otherwise. */
export const DEFAULT_GC_INTERVAL_MS = 10_000;
/** The shortest GC interval accepted. */
export const MIN_GC_INTERVAL_MS = 100;

/** Options of {@linkcode serveDiscovery}. */
export interface ServeDiscoveryOptions {
  /** `host:port`; port 0 picks a free one. */
  listen: string;
  /** PEM certificate text; with `tlsKey`, TLS instead of h2c. */
  tlsCert?: string;
  /** PEM key text. */
  tlsKey?: string;
  /**
   * Where clusters live: in this process (default), or in etcd shared by
   * any number of replicas.
   */
  store?: { kind: "memory" } | ({ kind: "etcd" } & EtcdStoreOptions);
  /** Snapshot file (memory store only); loaded at start, written periodically and on close. */
  stateFile?: string;
  /**
   * Per-request, per-cluster and total limits (clusters, affiliates,
   * watchers). @default DEFAULT_LIMITS
   */
  limits?: Partial<DiscoveryLimits>;
  /** Per client address (IPv4, or IPv6 /64). @default { rate: 15, burst: 60 } */
  rateLimit?: RateLimitOptions;
  /**
   * Longest wait for a rate-limit token; a call waits at most until its own
   * deadline (`grpc-timeout`), then gets ResourceExhausted. @default 60_000
   */
  maxRateWaitMs?: number;
  /** Calls waiting for a rate-limit token at once. @default 4096 */
  maxRateWaiters?: number;
  /** Watch snapshots encoded and sent at the same time. @default 4 */
  concurrentSnapshots?: number;
  /** Redirect every Hello here (`host:port`). */
  redirectEndpoint?: string;
  /** Trust `X-Real-IP` / `X-Forwarded-For`. @default false */
  trustProxyHeaders?: boolean;
  /** Open connections from one client address (IPv4, or IPv6 /64). @default 1024 */
  maxConnectionsPerIp?: number;
  /**
   * How often expired affiliates and endpoints are dropped (and watchers
   * told); lists and snapshots hide expired ones at once. @default 10_000
   */
  gcIntervalMs?: number;
  /** @default 60_000 */
  snapshotIntervalMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Called with one line per notable event (no payloads). */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A running discovery service. */
export interface DiscoveryServer {
  readonly port: number;
  /** Where the clusters live (memory, or etcd shared by replicas). */
  readonly state: DiscoveryStore;
  /** Runs GC now (tests). */
  gc(): number;
  /** Writes the snapshot now, when a state file is set. */
  snapshot(): Promise<void>;
  /** Resolves when the server stopped (closed or failed). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Starts a discovery service. */
export async function serveDiscovery(
  options: ServeDiscoveryOptions,
): Promise<DiscoveryServer> {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const gcIntervalMs = options.gcIntervalMs ?? DEFAULT_GC_INTERVAL_MS;
  if (!(gcIntervalMs >= MIN_GC_INTERVAL_MS)) {
    throw new RangeError(
      `Cannot run discovery GC every ${gcIntervalMs} ms: use at least ${MIN_GC_INTERVAL_MS} ms`,
    );
  }
  const limits: DiscoveryLimits = { ...DEFAULT_LIMITS, ...options.limits };
  if (options.store?.kind === "etcd" && options.stateFile) {
    throw new Error(
      "A state file is for the memory store: with etcd the state lives in etcd; drop the state file",
    );
  }
  let state: DiscoveryStore;
  let memory: DiscoveryState | undefined;
  if (options.store?.kind === "etcd") {
    const etcd = new EtcdStore(limits, now, options.store, log);
    await etcd.start();
    if (!etcd.health().ready) {
      log("discovery store not ready yet; serving reads, refusing writes", {
        reason: etcd.health().reason,
      });
    }
    state = etcd;
  } else {
    state = memory = new DiscoveryState(limits, now);
  }
  const limiter = new RateLimiter(
    options.rateLimit ?? { rate: 15, burst: 60 },
    now,
  );
  const counters = new RequestCounters();
  if (options.stateFile && memory) {
    const n = await loadStateFile(options.stateFile, memory);
    log("discovery state loaded", { file: options.stateFile, affiliates: n });
  }

  const lastExhausted = new Map<string, number>();
  const service = createClusterService({
    state,
    limits,
    limiter,
    counters,
    trustProxyHeaders: options.trustProxyHeaders ?? false,
    maxRateWaitMs: options.maxRateWaitMs ?? 60_000,
    maxRateWaiters: options.maxRateWaiters ?? 4096,
    onExhausted(method, message) {
      // One line per kind of refusal per minute: a flood must not flood the log.
      const kind = message.replace(/\d+/g, "N");
      if (now() - (lastExhausted.get(kind) ?? -Infinity) < 60_000) return;
      lastExhausted.set(kind, now());
      log("discovery service refused a call over a limit", { method, message });
    },
    snapshotGate: new Gate(options.concurrentSnapshots ?? 16),
    snapshotHoldMs: 5_000,
    ...(options.redirectEndpoint
      ? { redirectEndpoint: options.redirectEndpoint }
      : {}),
  });
  const plain = (method: string, path: string): PlainResponse => {
    if (method !== "GET" && method !== "HEAD") {
      return { status: 405, contentType: "text/plain", body: "GET only\n" };
    }
    if (path === "/healthz") {
      return { status: 200, contentType: "text/plain", body: "ok\n" };
    }
    if (path === "/readyz") {
      const h = state.health();
      return h.ready
        ? { status: 200, contentType: "text/plain", body: "ready\n" }
        : {
          status: 503,
          contentType: "text/plain",
          body: `not ready: ${h.reason ?? "store unavailable"}\n`,
        };
    }
    if (path === "/metrics") {
      return {
        status: 200,
        contentType: "text/plain; version=0.0.4",
        body: renderMetrics(
          state.stats(),
          counters,
          state.metricLines?.() ?? [],
        ),
      };
    }
    return {
      status: 404,
      contentType: "text/plain",
      body:
        "edgespan discovery service: gRPC sidero.discovery.server.Cluster\n",
    };
  };
  const route = (stream: ServerStream) => {
    const path = stream.request.path.split("?")[0]!;
    if (
      path.startsWith(CLUSTER_SERVICE_PATH) ||
      (stream.request.headers.get("content-type") ?? "").startsWith(
        "application/grpc",
      )
    ) {
      service(stream);
      return;
    }
    const res = plain(stream.request.method, path);
    const body = new TextEncoder().encode(res.body);
    const headers: HeaderField[] = [
      [":status", String(res.status)],
      ["content-type", res.contentType],
      ["content-length", String(body.length)],
    ];
    const head = stream.request.method === "HEAD";
    stream.respond(headers, head);
    if (!head) {
      void stream.write(body);
      stream.end();
    }
  };

  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined;
  let listener: Deno.Listener;
  try {
    const { ip, port } = parseAddrPort(options.listen);
    const hostname = ip.family === 6
      ? options.listen.slice(1, options.listen.lastIndexOf("]"))
      : options.listen.slice(0, options.listen.lastIndexOf(":"));
    listener = tls
      ? Deno.listenTls({
        hostname,
        port,
        cert: options.tlsCert!,
        key: options.tlsKey!,
        alpnProtocols: ["h2", "http/1.1"],
      })
      : Deno.listen({ hostname, port });
  } catch (err) {
    await state.close?.(); // the etcd store's watch and probe stop with it
    throw err;
  }
  let lastRefusal = -Infinity;
  const loop = acceptLoop(listener, { stream: route, plain }, {
    tls,
    clientKey,
    ...(options.maxConnectionsPerIp
      ? { maxConnectionsPerIp: options.maxConnectionsPerIp }
      : {}),
    onRefused(ip, limit) {
      counters.count(
        "Connection",
        limit === "per-ip" ? "RefusedPerIp" : "RefusedTotal",
      );
      if (now() - lastRefusal < 60_000) return;
      lastRefusal = now();
      log("discovery service refused connections over a limit", { ip, limit });
    },
  });
  const boundPort = (listener.addr as Deno.NetAddr).port;
  log("discovery service listening", {
    listen: options.listen,
    port: boundPort,
    tls,
  });

  const closed = loop.done;

  const gc = () => {
    limiter.prune();
    return state.gc();
  };
  const snapshot = async () => {
    if (options.stateFile && memory) {
      await saveStateFile(options.stateFile, memory);
    }
  };
  const gcTimer = setInterval(gc, gcIntervalMs);
  const snapTimer = options.stateFile
    ? setInterval(() => {
      snapshot().catch((err) =>
        log("discovery state snapshot failed", { error: String(err) })
      );
    }, options.snapshotIntervalMs ?? 60_000)
    : undefined;

  let closing: Promise<void> | undefined;
  return {
    port: boundPort,
    state,
    gc,
    snapshot,
    closed,
    close() {
      closing ??= (async () => {
        clearInterval(gcTimer);
        if (snapTimer !== undefined) clearInterval(snapTimer);
        await snapshot().catch((err) =>
          log("discovery state snapshot failed", { error: String(err) })
        );
        await loop.close();
        await state.close?.();
      })();
      return closing;
    },
  };
}
