/**
 * The `sidero.discovery.server.Cluster` service on our HTTP/2 transport:
 * routing by path, gRPC request checks, per-client rate limit, decoding,
 * validation, status codes and request counting. Watch streams through
 * `watch_stream.ts`; the rest are unary.
 *
 * @module
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  AffiliateDeleteRequestSchema,
  AffiliateDeleteResponseSchema,
  AffiliateSchema,
  AffiliateUpdateRequestSchema,
  AffiliateUpdateResponseSchema,
  HelloRequestSchema,
  HelloResponseSchema,
  ListRequestSchema,
  ListResponseSchema,
  RedirectMessageSchema,
  WatchRequestSchema,
} from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { tryParseIP } from "../../../core/netaddr/ip.ts";
import { clientKey, pickClientAddress } from "./client_address.ts";
import {
  checkClusterId,
  type DiscoveryLimits,
  DiscoveryRequestError,
} from "./limits.ts";
import {
  checkGrpcRequest,
  GrpcError,
  grpcFrame,
  GrpcResponder,
  type GrpcStatusName,
  parseGrpcTimeout,
  readRequestMessage,
} from "../../../web/grpc/mod.ts";
import type { RequestCounters } from "./metrics.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { type DiscoveryStore, StoreUnavailableError } from "./store.ts";
import { type ServerStream } from "../../../web/h2/mod.ts";
import { createWatch, type WatchDeps } from "./watch_stream.ts";

/** The gRPC path prefix of the service. */
export const CLUSTER_SERVICE_PATH = "/sidero.discovery.server.Cluster/";

/** What the service needs. */
export interface ServiceDeps extends WatchDeps {
  state: DiscoveryStore;
  limits: DiscoveryLimits;
  limiter: RateLimiter;
  counters: RequestCounters;
  /** Redirect every Hello to this `host:port`. */
  redirectEndpoint?: string;
  /** Take the client IP from `X-Real-IP` / `X-Forwarded-For`. */
  trustProxyHeaders: boolean;
  /**
   * Longest time a call waits for a rate-limit token: its own deadline
   * (`grpc-timeout`) when shorter.
   */
  maxRateWaitMs: number;
  /** Calls waiting for a token at once; more are refused at once. */
  maxRateWaiters: number;
  /** Told about each call refused because a total or rate limit is reached. */
  onExhausted?: (method: string, message: string) => void;
}

/** Waits `ms`; rejects with the signal's reason when it aborts first. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Largest request message accepted (an update at every limit fits). */
const MAX_REQUEST_BYTES = 64 * 1024;

function asGrpcError(err: unknown): GrpcError {
  if (err instanceof GrpcError) return err;
  if (err instanceof DiscoveryRequestError) {
    return new GrpcError(
      err.code === "invalid_argument" ? "InvalidArgument" : "ResourceExhausted",
      err.message,
    );
  }
  if (err instanceof StoreUnavailableError) {
    return new GrpcError("Unavailable", err.message);
  }
  return new GrpcError("Internal", "internal error");
}

function decode<D extends DescMessage>(schema: D, bytes: Uint8Array) {
  try {
    return fromBinary(schema, bytes);
  } catch {
    throw new GrpcError(
      "InvalidArgument",
      `cannot decode ${schema.typeName.split(".").pop()}`,
    );
  }
}

type Unary = (
  body: Uint8Array,
  ip: string,
) => Uint8Array | Promise<Uint8Array>;

function unary<I extends DescMessage, O extends DescMessage>(
  input: I,
  output: O,
  fn: (
    req: MessageShape<I>,
    ip: string,
  ) => MessageShape<O> | Promise<MessageShape<O>>,
): Unary {
  return (body, ip) => {
    const res = fn(decode(input, body), ip);
    // A store that answers at once (memory) costs no extra turn.
    return res instanceof Promise
      ? res.then((r) => toBinary(output, r))
      : toBinary(output, res);
  };
}

/** Builds the stream handler of the service. */
export function createClusterService(
  deps: ServiceDeps,
): (stream: ServerStream) => void {
  const { state, limiter, counters } = deps;
  const watch = createWatch(deps);

  const methods: Record<string, Unary> = {
    Hello: unary(HelloRequestSchema, HelloResponseSchema, (req, ip) => {
      checkClusterId(req.clusterId, deps.limits);
      const parsed = tryParseIP(ip);
      const res = create(HelloResponseSchema, {
        clientIp: parsed ? parsed.bytes : new Uint8Array(),
      });
      if (deps.redirectEndpoint) {
        res.redirect = create(RedirectMessageSchema, {
          endpoint: deps.redirectEndpoint,
        });
      }
      return res;
    }),
    AffiliateUpdate: unary(
      AffiliateUpdateRequestSchema,
      AffiliateUpdateResponseSchema,
      (req) => {
        const ttl = req.ttl;
        const ttlMs = ttl ? Number(ttl.seconds) * 1000 + ttl.nanos / 1e6 : 0;
        const done = state.update(
          req.clusterId,
          req.affiliateId,
          req.affiliateData,
          req.affiliateEndpoints,
          ttlMs,
        );
        const res = create(AffiliateUpdateResponseSchema);
        return done instanceof Promise ? done.then(() => res) : res;
      },
    ),
    AffiliateDelete: unary(
      AffiliateDeleteRequestSchema,
      AffiliateDeleteResponseSchema,
      (req) => {
        const done = state.delete(req.clusterId, req.affiliateId);
        const res = create(AffiliateDeleteResponseSchema);
        return done instanceof Promise ? done.then(() => res) : res;
      },
    ),
    List: unary(
      ListRequestSchema,
      ListResponseSchema,
      (req) =>
        create(ListResponseSchema, {
          affiliates: state.list(req.clusterId).map((a) =>
            create(AffiliateSchema, {
              id: a.id,
              data: a.data,
              endpoints: a.endpoints,
            })
          ),
        }),
    ),
  };

  let waiting = 0;

  /**
   * Takes a rate-limit token for the caller, waiting for one as long as the
   * call's deadline allows (as the published service does), so a burst from
   * one address is delayed rather than refused.
   */
  async function admit(
    stream: ServerStream,
    key: string,
    startedAt: number,
  ): Promise<void> {
    const timeout = parseGrpcTimeout(
      stream.request.headers.get("grpc-timeout"),
    );
    const left = timeout === undefined
      ? Infinity
      : timeout - (performance.now() - startedAt);
    const wait = limiter.take(key, Math.min(deps.maxRateWaitMs, left));
    if (wait === 0) return;
    const { rate, burst } = limiter.options;
    if (wait === Infinity) {
      throw new GrpcError(
        "ResourceExhausted",
        `rate limit of ${rate} calls/s per client address (burst ${burst}): no call slot is free within the call's deadline`,
      );
    }
    if (waiting >= deps.maxRateWaiters) {
      limiter.refund(key);
      throw new GrpcError(
        "ResourceExhausted",
        `rate limit of ${rate} calls/s per client address: ${deps.maxRateWaiters} calls are already waiting`,
      );
    }
    waiting++;
    try {
      await abortableDelay(wait, stream.signal);
    } catch (err) {
      limiter.refund(key);
      throw err;
    } finally {
      waiting--;
    }
  }

  async function call(stream: ServerStream, method: string): Promise<void> {
    const startedAt = performance.now();
    const out = new GrpcResponder(stream);
    let status: GrpcStatusName = "OK";
    let message = "";
    try {
      const bad = checkGrpcRequest(stream);
      if (bad) throw bad;
      const ip = pickClientAddress(
        (name) => stream.request.headers.get(name),
        stream.request.remoteAddress,
        deps.trustProxyHeaders,
      );
      const handler = methods[method];
      if (!handler && method !== "Watch") {
        throw new GrpcError(
          "Unimplemented",
          `method ${method} is not part of sidero.discovery.server.Cluster`,
        );
      }
      const body = await readRequestMessage(stream, MAX_REQUEST_BYTES);
      if (handler) {
        // Unary calls wait for a token; Watch streams are never limited (the
        // watcher and connection caps bound them), so a site behind one NAT
        // that restarts at once gets every watch opened without delay.
        await admit(stream, clientKey(ip), startedAt);
        const res = handler(body, ip);
        await out.send(grpcFrame(res instanceof Promise ? await res : res));
      } else {
        const req = decode(WatchRequestSchema, body);
        checkClusterId(req.clusterId, deps.limits);
        ({ status, message } = await watch(req.clusterId, out, stream.signal));
      }
    } catch (err) {
      ({ status, message } = stream.signal.aborted
        ? { status: "Canceled" as const, message: "" }
        : asGrpcError(err));
    }
    const name = method in methods || method === "Watch" ? method : "Unknown";
    counters.count(name, status);
    if (status === "ResourceExhausted") deps.onExhausted?.(name, message);
    out.finish(status, message);
  }

  return (stream) => {
    const path = stream.request.path;
    const method = path.startsWith(CLUSTER_SERVICE_PATH)
      ? path.slice(CLUSTER_SERVICE_PATH.length)
      : "";
    void call(stream, method);
  };
}
