/**
 * Runs the discovery service: gRPC over HTTP/2 (h2c, or TLS with a
 * certificate), `/healthz` and `/metrics` on the same port, periodic garbage
 * collection and an optional state snapshot file.
 *
 * @module
 */
import * as http2 from "node:http2";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { parseAddrPort } from "../../../core/netaddr/ip.ts";
import { Gate } from "./gate.ts";
import { DEFAULT_LIMITS, type DiscoveryLimits } from "./limits.ts";
import { renderMetrics, RequestCounters } from "./metrics.ts";
import { RateLimiter, type RateLimitOptions } from "./rate_limiter.ts";
import {
  createWatchHandler,
  requestClientAddress,
  WATCH_PATH,
} from "./watch_stream.ts";
import { PEER_ADDRESS, registerClusterService } from "./service.ts";
import { loadStateFile, saveStateFile } from "./snapshot.ts";
import { DiscoveryState } from "./state.ts";

/** Options of {@linkcode serveDiscovery}. */
export interface ServeDiscoveryOptions {
  /** `host:port`; port 0 picks a free one. */
  listen: string;
  /** PEM certificate text; with `tlsKey`, TLS instead of h2c. */
  tlsCert?: string;
  /** PEM key text. */
  tlsKey?: string;
  /** Snapshot file; loaded at start, written periodically and on close. */
  stateFile?: string;
  /** @default DEFAULT_LIMITS */
  limits?: Partial<DiscoveryLimits>;
  /** @default { rate: 15, burst: 60 } */
  rateLimit?: RateLimitOptions;
  /** Longest wait for a rate-limit token before ResourceExhausted. @default 1000 */
  maxRateWaitMs?: number;
  /** Watch snapshots encoded and sent at the same time. @default 4 */
  concurrentSnapshots?: number;
  /** Redirect every Hello here (`host:port`). */
  redirectEndpoint?: string;
  /** Trust `X-Real-IP` / `X-Forwarded-For`. @default false */
  trustProxyHeaders?: boolean;
  /** @default 60_000 */
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
  readonly state: DiscoveryState;
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
  const limits: DiscoveryLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const state = new DiscoveryState(limits, now);
  const limiter = new RateLimiter(
    options.rateLimit ?? { rate: 15, burst: 60 },
    now,
  );
  const counters = new RequestCounters();
  if (options.stateFile) {
    const n = await loadStateFile(options.stateFile, state);
    log("discovery state loaded", { file: options.stateFile, affiliates: n });
  }

  const handler = connectNodeAdapter({
    routes: (router) =>
      registerClusterService(router, {
        state,
        limits,
        limiter,
        counters,
        trustProxyHeaders: options.trustProxyHeaders ?? false,
        maxRateWaitMs: options.maxRateWaitMs ?? 1000,
        ...(options.redirectEndpoint
          ? { redirectEndpoint: options.redirectEndpoint }
          : {}),
      }),
    contextValues: (req) =>
      createContextValues().set(PEER_ADDRESS, req.socket?.remoteAddress ?? ""),
    fallback(req, res) {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
      } else if (path === "/metrics") {
        res.writeHead(200, {
          "content-type": "text/plain; version=0.0.4",
        });
        res.end(renderMetrics(state.stats(), counters));
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end(
          "edgespan discovery service: gRPC sidero.discovery.server.Cluster\n",
        );
      }
    },
  });

  const trust = options.trustProxyHeaders ?? false;
  const watch = createWatchHandler({
    state,
    limits,
    limiter,
    counters,
    snapshotGate: new Gate(options.concurrentSnapshots ?? 4),
    snapshotHoldMs: 5_000,
    maxRateWaitMs: options.maxRateWaitMs ?? 1000,
    clientAddress: (req) => requestClientAddress(req, trust),
  });
  const route = (
    req: http2.Http2ServerRequest,
    res: http2.Http2ServerResponse,
  ) => {
    if ((req.url ?? "").split("?")[0] === WATCH_PATH) {
      void watch(req, res);
      return;
    }
    // Connect builds a URL from :authority and throws synchronously on one
    // it cannot parse (e.g. an unbracketed IPv6 "::1:3000"): neutralise it,
    // and never let a request throw out of the server's event handler.
    try {
      new URL(`http://${req.authority ?? req.headers.host ?? "x"}/`);
    } catch {
      Object.defineProperty(req, "authority", { value: "invalid.authority" });
    }
    try {
      handler(req, res);
    } catch {
      res.destroy();
    }
  };
  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined;
  const server = tls
    ? http2.createSecureServer(
      { cert: options.tlsCert, key: options.tlsKey, allowHTTP1: true },
      route,
    )
    : http2.createServer({}, route);
  // A broken client must never take the process down.
  server.on("sessionError", () => {});
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on("error", () => {});
    session.on("close", () => sessions.delete(session));
  });
  server.on("clientError", () => {});
  server.on("tlsClientError", () => {});

  const { ip, port } = parseAddrPort(options.listen);
  const host = ip.family === 6
    ? options.listen.slice(1, options.listen.lastIndexOf("]"))
    : options.listen.slice(0, options.listen.lastIndexOf(":"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const boundPort = typeof address === "object" && address
    ? address.port
    : port;
  log("discovery service listening", {
    listen: options.listen,
    port: boundPort,
    tls,
  });

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  server.on("close", () => resolveClosed());
  server.on("error", (err) => {
    log("discovery service failed", { error: String(err) });
    server.close();
  });

  const gc = () => {
    limiter.prune();
    return state.gc();
  };
  const snapshot = async () => {
    if (options.stateFile) await saveStateFile(options.stateFile, state);
  };
  const gcTimer = setInterval(gc, options.gcIntervalMs ?? 60_000);
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
        const done = new Promise<void>((r) => server.close(() => r()));
        // Open streams (Watch) would hold close() forever: end the sessions.
        for (const s of sessions) s.destroy();
        await done;
      })();
      return closing;
    },
  };
}
