/**
 * `GET /v1/status`: what `edgespan status` and the dashboard show first —
 * readiness and why, each discovery connection with the time it entered its
 * state, `N/M peers up` and the peer statuses. Always 200 (the readiness is
 * in the body; `/readyz` is the one for probes).
 *
 * @module
 */
import type { Hono } from "hono";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { jsonResponse } from "../errors.ts";
import { publicResource } from "../public_view.ts";
import type { ApiDeps, ApiStatus, DiscoveryStatus } from "../types.ts";

/** Builds the status answer from the agent's view. */
export function buildStatus(deps: ApiDeps): ApiStatus {
  const now = (deps.now ?? Date.now)();
  const readiness = deps.readiness();
  const peers = deps.store.list<PeerStatusSpec>("peerstatuses");
  const discovery: DiscoveryStatus[] = deps.discovery?.() ??
    deps.metrics().discovery.map((d) => ({
      name: d.name,
      state: d.state,
      detail: "",
    }));
  return {
    version: deps.version,
    hostname: deps.hostname ?? Deno.hostname(),
    time: new Date(now).toISOString(),
    ready: readiness.ready,
    checks: readiness.checks,
    discovery,
    peers: {
      up: peers.filter((p) => p.spec.state === "up").length,
      total: peers.length,
    },
    items: peers.map((r) => {
      const { type: _type, ...rest } = publicResource(r);
      return rest;
    }),
  };
}

/** Adds `GET /v1/status`; register before `/v1/:type`. */
export function statusRoutes(app: Hono, deps: ApiDeps): void {
  app.get("/v1/status", () => jsonResponse(buildStatus(deps)));
}
