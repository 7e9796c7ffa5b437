/**
 * The mutating routes, each behind the bearer token of
 * `<stateDir>/api-token`: `POST /v1/plugins/<name>/enable|disable` and
 * `POST /v1/reload`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { publicResource } from "../public_view.ts";
import { errorResponse, jsonResponse } from "../errors.ts";
import { tokensEqual } from "../token.ts";
import type { ApiDeps } from "../types.ts";

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

/** The refusal for a request without the right token; nothing when it has it. */
function denied(c: Context, token: string): Response | undefined {
  const given = bearer(c.req.header("authorization"));
  if (given === undefined) {
    return errorResponse(
      401,
      "unauthorized",
      'Missing bearer token: send "Authorization: Bearer <token>" with the token from <stateDir>/api-token',
      { "www-authenticate": 'Bearer realm="edgespan"' },
    );
  }
  if (!tokensEqual(given, token)) {
    return errorResponse(
      403,
      "forbidden",
      "Wrong bearer token: use the token from <stateDir>/api-token of this agent",
    );
  }
  return undefined;
}

/** Adds the plugin switch and reload routes. */
export function controlRoutes(app: Hono, deps: ApiDeps): void {
  for (const action of ["enable", "disable"] as const) {
    app.post(`/v1/plugins/:name/${action}`, async (c) => {
      const refused = denied(c, deps.token);
      if (refused) return refused;
      const name = c.req.param("name");
      try {
        await deps.setPluginEnabled(name, action === "enable");
      } catch (e) {
        if (e instanceof Error && e.name === "UnknownPluginError") {
          return errorResponse(404, "unknown_plugin", e.message);
        }
        throw e;
      }
      const r = deps.store.get("plugins", name);
      return jsonResponse(
        r ? publicResource(r) : { name, enabled: action === "enable" },
      );
    });
  }

  app.post("/v1/reload", async (c) => {
    const refused = denied(c, deps.token);
    if (refused) return refused;
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
}
