/**
 * The `api` section: where the HTTP API listens (loopback unless allowed
 * otherwise) and the optional unix socket.
 *
 * @module
 */
import { type ApiConfig, DEFAULT_API_LISTEN } from "../types.ts";
import type { Reader } from "../reader.ts";
import { isLoopbackHost, splitHostPort } from "../../netaddr/host.ts";
import { hostPortProblem } from "./_checks.ts";

const KEYS = ["listen", "socket", "allowNonLoopback"] as const;

/** Reads `api`; a non-loopback `listen` needs `allowNonLoopback: true`. */
export function readApi(r: Reader, raw: unknown): ApiConfig {
  const api = r.map(raw, "api", KEYS);
  const listen = r.string(api.listen, "api.listen", DEFAULT_API_LISTEN);
  const allowNonLoopback = r.bool(
    api.allowNonLoopback,
    "api.allowNonLoopback",
    false,
  );
  const listenProblem = hostPortProblem(listen);
  if (listenProblem) r.report("api.listen", listenProblem);
  else if (!allowNonLoopback && !isLoopbackHost(splitHostPort(listen).host)) {
    r.report(
      "api.listen",
      `"${listen}" is not a loopback address; set api.allowNonLoopback: true to expose the API on purpose`,
    );
  }
  const socket = r.string(api.socket, "api.socket");
  return socket === undefined
    ? { listen, allowNonLoopback }
    : { listen, socket, allowNonLoopback };
}
