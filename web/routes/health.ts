/**
 * `GET /healthz`, `GET /readyz` and `GET /metrics` (Prometheus text).
 *
 * @module
 */
import type { Hono } from "hono";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { jsonResponse } from "../errors.ts";
import {
  countEndpointChanges,
  METRICS_CONTENT_TYPE,
  renderMetrics,
} from "../metrics.ts";
import type { ApiDeps } from "../types.ts";

/** Options for {@linkcode healthRoutes}. */
export interface HealthRouteOptions {
  /** Stops the endpoint-change counter behind `/metrics`. @default never */
  signal?: AbortSignal | undefined;
}

/**
 * Adds the health and metrics routes. The endpoint-change counter behind
 * `/metrics` watches the store until `options.signal` aborts.
 */
export function healthRoutes(
  app: Hono,
  deps: ApiDeps,
  options: HealthRouteOptions = {},
): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const endpointChanges = new Map<string, number>();
  const stopCounting = countEndpointChanges(store, endpointChanges);
  options.signal?.addEventListener("abort", stopCounting, { once: true });

  app.get(
    "/healthz",
    () => jsonResponse({ status: "ok", version: deps.version }),
  );

  app.get("/readyz", () => {
    const r = deps.readiness();
    return jsonResponse(r, r.ready ? 200 : 503);
  });

  app.get("/metrics", () => {
    const body = renderMetrics({
      version: deps.version,
      ready: deps.readiness().ready,
      peers: store.list<PeerStatusSpec>("peerstatuses"),
      affiliates: store.list("affiliates").length,
      endpointChanges,
      snapshot: deps.metrics(),
      now: now(),
    });
    return new Response(body, {
      headers: { "content-type": METRICS_CONTENT_TYPE },
    });
  });
}
