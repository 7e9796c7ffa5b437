/**
 * `GET /v1/timeline`: the agent's start-up and per-peer steps (ms after the
 * process started, monotonic), to see where the time to a full mesh goes.
 *
 * @module
 */
import type { Hono } from "hono";
import { errorResponse, jsonResponse } from "../errors.ts";
import type { ApiDeps } from "../types.ts";

/** Adds the timeline route; register before `/v1/:type`. */
export function timelineRoutes(
  app: Hono,
  deps: Pick<ApiDeps, "timeline">,
): void {
  app.get("/v1/timeline", () => {
    if (!deps.timeline) {
      return errorResponse(
        404,
        "not_found",
        "This agent keeps no timeline: it was started without one",
      );
    }
    return jsonResponse(deps.timeline());
  });
}
