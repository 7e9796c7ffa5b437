/**
 * `GET /`: the single-page dashboard, with a content security policy that
 * lets it talk to this API only.
 *
 * @module
 */
import type { Hono } from "hono";
import { DASHBOARD_HTML } from "../dashboard/asset.ts";

const CSP =
  "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'";

/** Adds the dashboard route. */
export function dashboardRoutes(app: Hono): void {
  app.get("/", () =>
    new Response(DASHBOARD_HTML, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": CSP,
      },
    }));
}
