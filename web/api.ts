/**
 * The local HTTP API (Hono): read-only resource routes, health, metrics, a
 * server-sent-events watch stream, the dashboard, and token-guarded
 * mutating routes.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { PeerStatusSpec } from "../core/resources/specs.ts";
import { publicResource } from "./_public_view.ts";
import { errorResponse, jsonResponse } from "./_errors.ts";
import { type HostPolicy, refusal } from "./_host_guard.ts";
import { DASHBOARD_HTML } from "./dashboard/asset.ts";
import {
  countEndpointChanges,
  METRICS_CONTENT_TYPE,
  renderMetrics,
} from "./metrics.ts";
import { sseResponse } from "./sse.ts";
import { tokensEqual } from "./token.ts";
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

function viaUnixSocket(env: unknown): boolean {
  const addr = (env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  return addr?.transport === "unix";
}

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

/** Builds the Hono app. */
export function createApi(
  deps: ApiDeps,
  options: CreateApiOptions = {},
): Hono {
  const app = new Hono();
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const endpointChanges = new Map<string, number>();
  const stopCounting = countEndpointChanges(store, endpointChanges);
  options.signal?.addEventListener("abort", stopCounting, { once: true });
  const unknownType = (name: string) =>
    errorResponse(
      404,
      "unknown_type",
      `Unknown resource type "${name}": known types are ${
        store.definitions().map((d) => d.type).join(", ")
      }`,
    );

  const resolve = (name: string) => store.resolveType(name);

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

  // Before every route: refuse requests for another host (DNS rebinding)
  // and requests from pages of another origin.
  const hostPolicy = options.hostPolicy ?? {};
  app.use(async (c, next) => {
    const refused = refusal({
      host: c.req.header("host") ?? new URL(c.req.url).host,
      origin: c.req.header("origin"),
      secFetchSite: c.req.header("sec-fetch-site"),
      unixSocket: viaUnixSocket(c.env),
    }, hostPolicy);
    if (refused) {
      return errorResponse(refused.status, refused.code, refused.message, {
        vary: "Host, Origin, Sec-Fetch-Site",
      });
    }
    await next();
  });

  app.get("/", () =>
    new Response(DASHBOARD_HTML, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy":
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      },
    }));

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

  app.get("/v1", () =>
    jsonResponse({
      version: deps.version,
      types: store.definitions().map((d) => d.type),
      routes: [
        "GET /v1/<type>",
        "GET /v1/<type>/<id>",
        "GET /v1/watch[?type=<type>]",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "POST /v1/plugins/<name>/enable (token)",
        "POST /v1/plugins/<name>/disable (token)",
        "POST /v1/reload (token)",
      ],
    }));

  app.get("/v1/watch", (c) => {
    const name = c.req.query("type");
    let type: string | undefined;
    if (name !== undefined) {
      const def = resolve(name);
      if (!def) {
        return unknownType(name);
      }
      type = def.type;
    }
    // Not the request's signal: Deno aborts it once a response starts. A
    // client that goes away cancels the body stream instead.
    const signals = options.signal ? [options.signal] : [];
    return sseResponse(store, {
      ...(type ? { type } : {}),
      signals,
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    });
  });

  // Mutating routes: a bearer token from <stateDir>/api-token.
  const guard = (c: Context): Response | undefined => {
    const header = c.req.header("authorization");
    const given = bearer(header);
    if (given === undefined) {
      return errorResponse(
        401,
        "unauthorized",
        'Missing bearer token: send "Authorization: Bearer <token>" with the token from <stateDir>/api-token',
        { "www-authenticate": 'Bearer realm="edgespan"' },
      );
    }
    if (!tokensEqual(given, deps.token)) {
      return errorResponse(
        403,
        "forbidden",
        "Wrong bearer token: use the token from <stateDir>/api-token of this agent",
      );
    }
    return undefined;
  };

  for (const action of ["enable", "disable"] as const) {
    app.post(`/v1/plugins/:name/${action}`, async (c) => {
      const denied = guard(c);
      if (denied) return denied;
      const name = c.req.param("name");
      try {
        await deps.setPluginEnabled(name, action === "enable");
      } catch (e) {
        if (e instanceof Error && e.name === "UnknownPluginError") {
          return errorResponse(404, "unknown_plugin", e.message);
        }
        throw e;
      }
      const r = store.get("plugins", name);
      return jsonResponse(
        r ? publicResource(r) : { name, enabled: action === "enable" },
      );
    });
  }

  app.post("/v1/reload", async (c) => {
    const denied = guard(c);
    if (denied) return denied;
    try {
      await deps.reload();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const invalid = e instanceof Error && e.name === "ConfigError";
      return errorResponse(
        invalid ? 400 : 409,
        invalid ? "invalid_config" : "reload_rejected",
        `${message}\nThe running config was kept.`,
      );
    }
    return jsonResponse({ reloaded: true });
  });

  app.get("/v1/:type", (c) => {
    const name = c.req.param("type");
    const def = resolve(name);
    if (!def) {
      return unknownType(name);
    }
    const items = store.list(def.type).map((r) => {
      const { type: _t, ...rest } = publicResource(r);
      return rest;
    });
    return jsonResponse({ type: def.type, items });
  });

  app.get("/v1/:type/:id{.+}", (c) => {
    const name = c.req.param("type");
    const id = c.req.param("id");
    const def = resolve(name);
    if (!def) {
      return unknownType(name);
    }
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

  return app;
}
