/**
 * `GET /v1/watch[?type=<type>]`: resource changes as server-sent events.
 *
 * @module
 */
import type { Hono } from "hono";
import type { ResourceStore } from "../../core/resources/store.ts";
import { sseResponse } from "../sse.ts";
import { unknownType } from "./resources.ts";

/** Options for {@linkcode watchRoutes}. */
export interface WatchRouteOptions {
  /** Aborting it ends every open stream. */
  signal?: AbortSignal | undefined;
  /** Keep-alive interval of the streams. @default 15000 */
  heartbeatMs?: number | undefined;
}

/** Adds the watch route; register before `/v1/:type`, which would match it too. */
export function watchRoutes(
  app: Hono,
  store: ResourceStore,
  options: WatchRouteOptions = {},
): void {
  app.get("/v1/watch", (c) => {
    const name = c.req.query("type");
    let type: string | undefined;
    if (name !== undefined) {
      const def = store.resolveType(name);
      if (!def) return unknownType(store, name);
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
}
