/**
 * The middleware that runs before every route: it refuses requests for
 * another host (DNS rebinding) and requests from pages of another origin,
 * applying the pure decision of `../host_policy.ts`.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { errorResponse } from "../errors.ts";
import { type HostPolicy, refusal } from "../host_policy.ts";

function viaUnixSocket(env: unknown): boolean {
  const addr = (env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  return addr?.transport === "unix";
}

/** A middleware answering refused requests with 403/421 and passing the rest on. */
export function hostGuard(policy: HostPolicy = {}): MiddlewareHandler {
  return async function hostGuard(c, next) {
    const refused = refusal({
      host: c.req.header("host") ?? new URL(c.req.url).host,
      origin: c.req.header("origin"),
      secFetchSite: c.req.header("sec-fetch-site"),
      unixSocket: viaUnixSocket(c.env),
    }, policy);
    if (refused) {
      return errorResponse(refused.status, refused.code, refused.message, {
        vary: "Host, Origin, Sec-Fetch-Site",
      });
    }
    await next();
  };
}
