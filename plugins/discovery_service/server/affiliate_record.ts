/**
 * How one affiliate is kept and how an AffiliateUpdate merges into it: the
 * same rules for every store (pure functions, time passed in).
 *
 * @module
 */
import { DiscoveryRequestError } from "./limits.ts";
import type { AffiliateView } from "./watch_hub.ts";

/**
 * An endpoint is kept as its bytes in a one-byte string only: a separate
 * Uint8Array per endpoint costs a backing store of its own (about 400 bytes
 * more each, 64 per affiliate).
 */
export interface StoredEndpoint {
  key: string;
  expiresAt: number;
}

/** An affiliate with its expiry and its endpoints' expiries. */
export interface StoredAffiliate {
  id: string;
  data: Uint8Array;
  expiresAt: number;
  endpoints: StoredEndpoint[];
}

/**
 * The bytes as a flat one-byte string. `String.fromCharCode` over a chunk
 * builds it in one piece; appending byte by byte would leave a chain of cons
 * strings behind (about 1 KiB for a 32-byte endpoint).
 */
export function keyOf(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** Byte equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The endpoints as views into one buffer (one backing store per view). */
export function endpointBytes(
  endpoints: readonly StoredEndpoint[],
): Uint8Array[] {
  let total = 0;
  for (const e of endpoints) total += e.key.length;
  const buf = new Uint8Array(total);
  const out: Uint8Array[] = [];
  let o = 0;
  for (const { key } of endpoints) {
    for (let i = 0; i < key.length; i++) buf[o + i] = key.charCodeAt(i);
    out.push(buf.subarray(o, o + key.length));
    o += key.length;
  }
  return out;
}

/** What watchers and List see of an affiliate. */
export function view(a: StoredAffiliate): AffiliateView {
  return { id: a.id, data: a.data, endpoints: endpointBytes(a.endpoints) };
}

/** What a watcher sees is the same (data and endpoints, in order). */
export function sameView(a: StoredAffiliate, b: StoredAffiliate): boolean {
  if (!sameBytes(a.data, b.data)) return false;
  if (a.endpoints.length !== b.endpoints.length) return false;
  return a.endpoints.every((e, i) => e.key === b.endpoints[i]!.key);
}

/** Everything stored is the same (expiries included). */
export function sameRecord(a: StoredAffiliate, b: StoredAffiliate): boolean {
  return a.expiresAt === b.expiresAt && sameView(a, b) &&
    a.endpoints.every((e, i) => e.expiresAt === b.endpoints[i]!.expiresAt);
}

/**
 * Merges an update into `prev` (undefined: a new affiliate) without
 * touching it. Non-empty `data` replaces the data and the expiry; otherwise
 * the expiry only grows. Endpoints are merged by byte equality in arrival
 * order, a known one only ever getting a later expiry. `changed` tells
 * whether watchers must hear about it (new affiliate, new data, new
 * endpoint).
 *
 * @throws {DiscoveryRequestError} when the affiliate would have more than
 *   `endpointsMax` endpoints
 */
export function mergeUpdate(
  prev: StoredAffiliate | undefined,
  id: string,
  data: Uint8Array | undefined,
  endpoints: readonly Uint8Array[],
  expiresAt: number,
  endpointsMax: number,
): { next: StoredAffiliate; changed: boolean } {
  let changed = prev === undefined;
  const merged = prev ? prev.endpoints.slice() : [];
  for (const bytes of endpoints) {
    const key = keyOf(bytes);
    const i = merged.findIndex((e) => e.key === key);
    if (i >= 0) {
      if (expiresAt > merged[i]!.expiresAt) merged[i] = { key, expiresAt };
      continue;
    }
    if (merged.length >= endpointsMax) {
      throw new DiscoveryRequestError(
        "resource_exhausted",
        "too many endpoints for the affiliate",
      );
    }
    merged.push({ key, expiresAt });
    changed = true;
  }
  const next: StoredAffiliate = {
    id,
    data: prev?.data ?? new Uint8Array(),
    expiresAt: prev?.expiresAt ?? expiresAt,
    endpoints: merged,
  };
  if (data && data.length > 0) {
    if (!sameBytes(data, next.data)) {
      changed = true;
      next.data = data.slice();
    }
    next.expiresAt = expiresAt;
  } else if (expiresAt > next.expiresAt) {
    next.expiresAt = expiresAt;
  }
  return { next, changed };
}

/**
 * Drops expired endpoints; returns the affiliate left (same object when
 * nothing expired), or undefined when the affiliate itself expired.
 */
export function expire(
  a: StoredAffiliate,
  now: number,
): StoredAffiliate | undefined {
  if (a.expiresAt <= now) return undefined;
  const kept = a.endpoints.filter((e) => e.expiresAt > now);
  return kept.length === a.endpoints.length ? a : { ...a, endpoints: kept };
}
