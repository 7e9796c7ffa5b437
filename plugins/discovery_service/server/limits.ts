/**
 * Limits of the discovery service: the published service's per-request and
 * per-cluster limits, plus totals over all clusters that bound memory.
 *
 * @module
 */

/** Size and count limits enforced on every request. */
export interface DiscoveryLimits {
  /** Bytes of a cluster id. @default 256 */
  clusterIdMax: number;
  /** Bytes of an affiliate id. @default 256 */
  affiliateIdMax: number;
  /** Bytes of affiliate data. @default 2048 */
  dataMax: number;
  /** Bytes of one endpoint. @default 32 */
  endpointMax: number;
  /** Endpoints per affiliate. @default 64 */
  endpointsMax: number;
  /** Affiliates per cluster. @default 1024 */
  affiliatesMax: number;
  /** Longest TTL in ms. @default 30 min */
  ttlMaxMs: number;
  /**
   * Clusters held at once, watched or not (the published service has no
   * such total). @default 1024
   */
  clustersMax: number;
  /**
   * Affiliates over all clusters. A max-size affiliate (2 KiB data, 64
   * endpoints) takes about 11 KiB, so the default bounds the state to about
   * 45 MiB. @default 4096
   */
  totalAffiliatesMax: number;
  /** Open Watch streams over all clusters. @default 8192 */
  watchersMax: number;
  /**
   * Affiliates with a change pending for one watcher before it is dropped
   * with "lost update" (changes of one affiliate are coalesced). @default 1024
   */
  watcherBuffer: number;
}

/** The published service's limits and edgespan's totals. */
export const DEFAULT_LIMITS: Readonly<DiscoveryLimits> = {
  clusterIdMax: 256,
  affiliateIdMax: 256,
  dataMax: 2048,
  endpointMax: 32,
  endpointsMax: 64,
  affiliatesMax: 1024,
  ttlMaxMs: 30 * 60_000,
  clustersMax: 1024,
  totalAffiliatesMax: 4096,
  watchersMax: 8192,
  watcherBuffer: 1024,
};

/** gRPC status the failing request gets. */
export type LimitCode = "invalid_argument" | "resource_exhausted";

/** A request broke a limit or was malformed. */
export class DiscoveryRequestError extends Error {
  readonly code: LimitCode;
  constructor(code: LimitCode, message: string) {
    super(message);
    this.name = "DiscoveryRequestError";
    this.code = code;
  }
}

const utf8 = new TextEncoder();

function checkId(id: string, what: string, max: number): void {
  if (id === "") {
    throw new DiscoveryRequestError(
      "invalid_argument",
      `${what} can't be empty`,
    );
  }
  if (utf8.encode(id).length > max) {
    throw new DiscoveryRequestError("invalid_argument", `${what} is too long`);
  }
}

/** Checks a cluster id. */
export function checkClusterId(id: string, limits: DiscoveryLimits): void {
  checkId(id, "cluster ID", limits.clusterIdMax);
}

/** Checks an affiliate id. */
export function checkAffiliateId(id: string, limits: DiscoveryLimits): void {
  checkId(id, "affiliate ID", limits.affiliateIdMax);
}

/** Checks the body of an AffiliateUpdate. */
export function checkUpdate(
  data: Uint8Array | undefined,
  endpoints: readonly Uint8Array[],
  ttlMs: number,
  limits: DiscoveryLimits,
): void {
  if (data && data.length > limits.dataMax) {
    throw new DiscoveryRequestError(
      "invalid_argument",
      "affiliate data is too big",
    );
  }
  if (endpoints.length > limits.endpointsMax) {
    throw new DiscoveryRequestError("resource_exhausted", "too many endpoints");
  }
  for (const e of endpoints) {
    if (e.length > limits.endpointMax) {
      throw new DiscoveryRequestError(
        "invalid_argument",
        "affiliate endpoint is too big",
      );
    }
  }
  if (!Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new DiscoveryRequestError("invalid_argument", "ttl is invalid");
  }
  if (ttlMs > limits.ttlMaxMs) {
    throw new DiscoveryRequestError("invalid_argument", "ttl is too large");
  }
}
