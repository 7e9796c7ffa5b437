/**
 * The read-only resource routes: `GET /v1` (index), `GET /v1/<type>` and
 * `GET /v1/<type>/<id>`, serving the public view of each resource.
 *
 * @module
 */
import type { Hono } from "hono";
import type { ResourceStore } from "../../core/resources/store.ts";
import { publicResource } from "../public_view.ts";
import { errorResponse, jsonResponse } from "../errors.ts";
import type { ApiDeps } from "../types.ts";

/** What every route of the API that names a resource type answers for an unknown one. */
export function unknownType(store: ResourceStore, name: string): Response {
  return errorResponse(
    404,
    "unknown_type",
    `Unknown resource type "${name}": known types are ${
      store.definitions().map((d) => d.type).join(", ")
    }`,
  );
}

/** The routes `GET /v1` lists. */
const ROUTES = [
  "GET /v1/<type>",
  "GET /v1/<type>/<id>",
  "GET /v1/watch[?type=<type>]",
  "GET /v1/timeline",
  "GET /v1/status",
  "GET /healthz",
  "GET /readyz",
  "GET /metrics",
  "POST /v1/plugins/<name>/enable (token)",
  "POST /v1/plugins/<name>/disable (token)",
  "POST /v1/reload (token)",
];

/** Adds the index and resource routes; register after `/v1/watch`. */
export function resourceRoutes(
  app: Hono,
  deps: Pick<ApiDeps, "store" | "version">,
): void {
  const { store, version } = deps;
  app.get("/v1", () =>
    jsonResponse({
      version,
      types: store.definitions().map((d) => d.type),
      routes: ROUTES,
    }));

  app.get("/v1/:type", (c) => {
    const name = c.req.param("type");
    const def = store.resolveType(name);
    if (!def) return unknownType(store, name);
    const items = store.list(def.type).map((r) => {
      const { type: _t, ...rest } = publicResource(r);
      return rest;
    });
    return jsonResponse({ type: def.type, items });
  });

  app.get("/v1/:type/:id{.+}", (c) => {
    const name = c.req.param("type");
    const id = c.req.param("id");
    const def = store.resolveType(name);
    if (!def) return unknownType(store, name);
    const r = store.get(def.type, id);
    if (!r) {
      return errorResponse(
        404,
        "not_found",
        `No ${def.type} resource with id "${id}": list them with GET /v1/${def.type}`,
      );
    }
    return jsonResponse(publicResource(r));
  });
}
