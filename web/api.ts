/**
 * The local HTTP API (Hono): read-only resource routes, health, metrics, a
 * server-sent-events watch stream, the dashboard, and token-guarded
 * mutating routes. Each route group lives in `routes/`; this file only
 * orders them behind the host/origin guard.
 *
 * @module
 */
import { Hono } from "hono";
import { errorResponse } from "./errors.ts";
import type { HostPolicy } from "./host_policy.ts";
import { hostGuard } from "./routes/host_guard.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { healthRoutes } from "./routes/health.ts";
import { watchRoutes } from "./routes/watch.ts";
import { controlRoutes } from "./routes/control.ts";
import { resourceRoutes } from "./routes/resources.ts";
import { timelineRoutes } from "./routes/timeline.ts";
import { statusRoutes } from "./routes/status.ts";
import type { ApiDeps } from "./types.ts";

/** Options for {@linkcode createApi}. */
export interface CreateApiOptions {
  /** Aborting it ends watch streams and the endpoint-change counter. */
  signal?: AbortSignal;
  /** Keep-alive interval of watch streams. @default 15000 */
  heartbeatMs?: number;
  /** `Host` values answered besides loopback. @default loopback only */
  hostPolicy?: HostPolicy;
}

/**
 * Builds the Hono app.
 *
 * @example Serving a store on loopback
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { createApi } from "./api.ts";
 * import { ResourceStore } from "../core/resources/store.ts";
 * import { RESOURCE_DEFINITIONS } from "../core/resources/definitions.ts";
 *
 * const app = createApi({
 *   store: new ResourceStore(RESOURCE_DEFINITIONS),
 *   readiness: () => ({ ready: true, checks: {} }),
 *   reload: () => Promise.resolve(),
 *   setPluginEnabled: () => Promise.resolve(),
 *   metrics: () => ({
 *     reconcile: { runs: 0, errors: 0, lastDurationMs: 0 },
 *     discovery: [],
 *   }),
 *   token: "t0ken",
 *   version: "0.0.0",
 * });
 * const res = await app.request("http://127.0.0.1/healthz");
 * strictEqual(res.status, 200);
 * ```
 */
export function createApi(
  deps: ApiDeps,
  options: CreateApiOptions = {},
): Hono {
  const app = new Hono();
  app.onError((err) =>
    errorResponse(
      500,
      "internal",
      `Internal error: ${err.message}; see the agent log`,
    )
  );
  app.notFound((c) =>
    errorResponse(
      404,
      "not_found",
      `No route for ${c.req.method} ${c.req.path}: see GET /v1 for the routes`,
    )
  );
  app.use(hostGuard(options.hostPolicy));
  // Order matters where paths overlap: /v1/watch before /v1/:type.
  dashboardRoutes(app);
  healthRoutes(app, deps, { signal: options.signal });
  watchRoutes(app, deps.store, {
    signal: options.signal,
    heartbeatMs: options.heartbeatMs,
  });
  controlRoutes(app, deps);
  timelineRoutes(app, deps);
  statusRoutes(app, deps);
  resourceRoutes(app, deps);
  return app;
}
