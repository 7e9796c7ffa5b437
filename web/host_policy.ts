/**
 * Which requests the local API answers at all: those addressed to this API
 * (the `Host` header names loopback or the configured listen host), and not
 * sent by a page of another origin. This stops DNS rebinding (a page of
 * `evil.example` whose name now resolves to 127.0.0.1 would otherwise read
 * every GET route) and cross-origin requests from pages the operator visits.
 * Pure: decides from the request's headers only.
 *
 * @module
 */
import { isLoopbackHost } from "../core/netaddr/host.ts";
import { tryParseIP } from "../core/netaddr/ip.ts";

/** Which `Host` values name this API, besides loopback. */
export interface HostPolicy {
  /**
   * Host names or addresses (no port) accepted besides loopback, e.g. the
   * configured non-loopback listen address. @default []
   */
  hosts?: readonly string[];
  /**
   * Accept any IP address literal as `Host` (the API listens on a wildcard
   * address, so it cannot know every address it is reached at). A name other
   * than `localhost` is still refused. @default false
   */
  anyAddress?: boolean;
}

/** The headers the decision needs. */
export interface RequestFacts {
  /** The `Host` header; absent = taken from the request URL. */
  host?: string | undefined;
  /** The `Origin` header. */
  origin?: string | undefined;
  /** The `Sec-Fetch-Site` header browsers send. */
  secFetchSite?: string | undefined;
  /** Came in over the unix socket, which no browser can reach. @default false */
  unixSocket?: boolean;
}

/** Why a request is refused. */
export interface Refusal {
  status: 403 | 421;
  code: "host_not_allowed" | "cross_origin";
  message: string;
}

/** Splits a `Host` value into its host part (brackets removed), lower case. */
export function hostOf(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(v) ??
    /^([^:[\]\s/]+)(?::(\d{1,5}))?$/.exec(v);
  return m?.[1];
}

function hostAllowed(host: string, policy: HostPolicy): boolean {
  if (isLoopbackHost(host)) return true;
  const named = (policy.hosts ?? []).map((h) => h.toLowerCase());
  if (named.some((h) => h === host || hostOf(h) === host)) return true;
  return (policy.anyAddress ?? false) && tryParseIP(host) !== undefined;
}

/**
 * Returns why the API must not answer a request, or `undefined` to answer.
 *
 * @example
 * ```ts
 * import { refusal } from "./host_policy.ts";
 * refusal({ host: "127.0.0.1:7443" }, {}); // undefined
 * refusal({ host: "rebound.example:7443" }, {})?.status; // 421
 * ```
 */
export function refusal(
  req: RequestFacts,
  policy: HostPolicy,
): Refusal | undefined {
  const origin = req.origin?.trim();
  const site = req.secFetchSite?.trim().toLowerCase();
  if (!req.unixSocket) {
    const host = req.host === undefined ? undefined : hostOf(req.host);
    if (host === undefined || !hostAllowed(host, policy)) {
      return {
        status: 421,
        code: "host_not_allowed",
        message: `Refusing a request for host "${
          (req.host ?? "").slice(0, 100)
        }": this API answers only for loopback (127.0.0.1, [::1], localhost) or its listen address; use one of those in the URL`,
      };
    }
    const self = `http://${req.host!.trim().toLowerCase()}`;
    if (origin !== undefined && origin.toLowerCase() !== self) {
      return crossOrigin(origin);
    }
  } else if (origin !== undefined) return crossOrigin(origin);
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    return crossOrigin(`a ${site} page`);
  }
  return undefined;
}

function crossOrigin(from: string): Refusal {
  return {
    status: 403,
    code: "cross_origin",
    message: `Refusing a cross-origin request from ${
      from.startsWith("a ") ? from : `"${from.slice(0, 100)}"`
    }: the local API serves only its own dashboard and non-browser clients such as curl`,
  };
}
