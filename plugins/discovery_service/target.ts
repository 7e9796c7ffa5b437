/**
 * Discovery service URLs and the reconnect backoff, as pure functions. A
 * parsed URL maps to the generic {@linkcode H2Target} the gRPC transport
 * connects to.
 *
 * @module
 */
import { authority, type H2Target } from "../../web/h2/target.ts";

/** Where a client connects. */
export interface DiscoveryTarget {
  host: string;
  port: number;
  tls: boolean;
}

/**
 * Parses a discovery URL: `http://` is plaintext (default port 80),
 * `https://` and `grpc://` use TLS (default port 443).
 *
 * @throws {SyntaxError} for another scheme or a URL without a host
 */
export function parseDiscoveryUrl(text: string): DiscoveryTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SyntaxError(`Cannot parse discovery endpoint "${text}" as a URL`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!["http", "https", "grpc"].includes(scheme) || url.hostname === "") {
    throw new SyntaxError(
      `Cannot use discovery endpoint "${text}": scheme must be http, https or grpc`,
    );
  }
  const tls = scheme !== "http";
  const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port, tls };
}

/**
 * Applies a redirect (`host:port`, or bare host) to a target; the TLS
 * setting is kept.
 *
 * @throws {SyntaxError} when the redirect is not `host:port`
 */
export function redirectTarget(
  current: DiscoveryTarget,
  endpoint: string,
): DiscoveryTarget {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(endpoint.trim());
  if (!m) throw new SyntaxError(`Cannot follow redirect to "${endpoint}"`);
  const port = m[3] === undefined ? (current.tls ? 443 : 80) : Number(m[3]);
  if (port < 1 || port > 65535) {
    throw new SyntaxError(`Cannot follow redirect to "${endpoint}": bad port`);
  }
  return { host: (m[1] ?? m[2])!, port, tls: current.tls };
}

/**
 * The HTTP/2 target of a discovery service; `ca` (PEM) is trusted for TLS
 * only (a plaintext target ignores it).
 */
export function h2Target(t: DiscoveryTarget, ca?: string): H2Target {
  return {
    host: t.host,
    port: t.port,
    tls: t.tls,
    ...(t.tls && ca ? { ca } : {}),
  };
}

/** The base URL of a target, as shown in statuses and logs. */
export function targetBaseUrl(t: DiscoveryTarget): string {
  return `${t.tls ? "https" : "http"}://${authority(t)}`;
}

/** Reconnect backoff settings. */
export interface BackoffOptions {
  /** @default 500 */
  initialMs: number;
  /** @default 1.5 */
  multiplier: number;
  /** Fraction of the delay added or removed at random. @default 0.5 */
  jitter: number;
  /** @default 60_000 */
  maxMs: number;
}

/** Defaults like the upstream client's. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = {
  initialMs: 500,
  multiplier: 1.5,
  jitter: 0.5,
  maxMs: 60_000,
};

/**
 * The delay before retry number `attempt` (1 = first retry); `random` in
 * [0, 1) picks the jitter.
 */
export function backoffDelay(
  attempt: number,
  random: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const base = Math.min(
    opts.maxMs,
    opts.initialMs * opts.multiplier ** Math.max(0, attempt - 1),
  );
  return Math.max(0, base * (1 - opts.jitter + 2 * opts.jitter * random));
}
