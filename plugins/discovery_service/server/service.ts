/**
 * The unary `sidero.discovery.server.Cluster` handlers (Watch is in
 * `watch_stream.ts`) on top of
 * {@linkcode DiscoveryState}: peer address, rate limit, validation, status
 * codes and request counting.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextKey,
  type HandlerContext,
} from "@connectrpc/connect";
import {
  AffiliateDeleteResponseSchema,
  AffiliateSchema,
  AffiliateUpdateResponseSchema,
  Cluster,
  HelloResponseSchema,
  ListResponseSchema,
  RedirectMessageSchema,
} from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { tryParseIP } from "../../../core/netaddr/ip.ts";
import {
  checkClusterId,
  type DiscoveryLimits,
  DiscoveryRequestError,
} from "./limits.ts";
import { pickClientAddress } from "./client_address.ts";
import type { RequestCounters } from "./metrics.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import type { AffiliateView, DiscoveryState } from "./state.ts";

/** Context key under which the transport stores the peer's address. */
export const PEER_ADDRESS = createContextKey<string>("", {
  description: "remote address of the connection",
});

/** What the handlers need. */
export interface ServiceDeps {
  state: DiscoveryState;
  limits: DiscoveryLimits;
  limiter: RateLimiter;
  counters: RequestCounters;
  /** Redirect every Hello to this `host:port`. */
  redirectEndpoint?: string;
  /** Take the client IP from `X-Real-IP` / `X-Forwarded-For`. @default false */
  trustProxyHeaders: boolean;
  /** Longest time a call waits for a rate-limit token. */
  maxRateWaitMs: number;
}

function clientAddress(ctx: HandlerContext, trustHeaders: boolean): string {
  return pickClientAddress(
    (name) => ctx.requestHeader.get(name) ?? undefined,
    ctx.values.get(PEER_ADDRESS),
    trustHeaders,
  );
}

function toPB(a: AffiliateView) {
  return create(AffiliateSchema, {
    id: a.id,
    data: a.data,
    endpoints: a.endpoints,
  });
}

function codeName(err: unknown): string {
  return err instanceof ConnectError ? Code[err.code] ?? "Unknown" : "Internal";
}

function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DiscoveryRequestError) {
    return new ConnectError(
      err.message,
      err.code === "invalid_argument"
        ? Code.InvalidArgument
        : Code.ResourceExhausted,
    );
  }
  return new ConnectError("internal error", Code.Internal);
}

/** Registers the service on a Connect router. */
export function registerClusterService(
  router: ConnectRouter,
  deps: ServiceDeps,
): ConnectRouter {
  const { state, limiter, counters } = deps;

  async function admit(ctx: HandlerContext): Promise<string> {
    const ip = clientAddress(ctx, deps.trustProxyHeaders);
    const deadline = ctx.timeoutMs();
    const maxWait = Math.min(deps.maxRateWaitMs, deadline ?? Infinity);
    const wait = limiter.take(ip, maxWait);
    if (wait === Infinity) {
      throw new ConnectError("rate limit exceeded", Code.ResourceExhausted);
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return ip;
  }

  async function unary<T>(
    method: string,
    ctx: HandlerContext,
    body: (ip: string) => T,
  ): Promise<T> {
    try {
      const ip = await admit(ctx);
      const out = body(ip);
      counters.count(method, "OK");
      return out;
    } catch (err) {
      const e = toConnectError(err);
      counters.count(method, codeName(e));
      throw e;
    }
  }

  return router.service(Cluster, {
    hello(req, ctx) {
      return unary("Hello", ctx, (ip) => {
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
      });
    },
    affiliateUpdate(req, ctx) {
      return unary("AffiliateUpdate", ctx, () => {
        const ttl = req.ttl;
        const ttlMs = ttl ? Number(ttl.seconds) * 1000 + ttl.nanos / 1e6 : 0;
        state.update(
          req.clusterId,
          req.affiliateId,
          req.affiliateData,
          req.affiliateEndpoints,
          ttlMs,
        );
        return create(AffiliateUpdateResponseSchema);
      });
    },
    affiliateDelete(req, ctx) {
      return unary("AffiliateDelete", ctx, () => {
        state.delete(req.clusterId, req.affiliateId);
        return create(AffiliateDeleteResponseSchema);
      });
    },
    list(req, ctx) {
      return unary("List", ctx, () =>
        create(ListResponseSchema, {
          affiliates: state.list(req.clusterId).map(toPB),
        }));
    },
  });
}
