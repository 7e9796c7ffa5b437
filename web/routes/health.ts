/**
 * `GET /healthz`, `GET /readyz` and `GET /metrics` (Prometheus text).
 *
 * @module
 */
import type { Hono } from "hono";
import type {
  PeerStatusSpec,
  PluginStatusSpec,
  RelayPairSpec,
} from "../../core/resources/specs.ts";
import { buildInfo } from "../cli/build_info.ts";
import { readProcessStats } from "../process_stats.ts";
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
    // First: on a relay this refreshes the `relaypairs` read below.
    const snapshot = deps.metrics();
    const body = renderMetrics({
      version: deps.version,
      ready: deps.readiness().ready,
      peers: store.list<PeerStatusSpec>("peerstatuses"),
      relayPairs: store.list<RelayPairSpec>("relaypairs"),
      affiliates: store.list("affiliates").length,
      endpointChanges,
      snapshot,
      now: now(),
      commit: buildInfo().commit,
      plugins: store.list<PluginStatusSpec>("plugins").map((r) => ({
        name: r.id,
        enabled: r.spec.enabled,
      })),
      process: readProcessStats(),
    });
    return new Response(body, {
      headers: { "content-type": METRICS_CONTENT_TYPE },
    });
  });
}
