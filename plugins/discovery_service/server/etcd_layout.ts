/**
 * How the etcd store lays affiliates out in etcd (pure): one key per
 * affiliate, `<prefix>a/<cluster>/<affiliate>` with both ids
 * percent-encoded (so a `/` inside an id cannot move a key to another
 * cluster), and a JSON value holding the data, the expiry and each
 * endpoint's expiry (bytes as base64, times as Unix ms).
 *
 * @module
 */
import type { StoredAffiliate } from "./affiliate_record.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The default key prefix. */
export const DEFAULT_ETCD_PREFIX = "/edgespan/discovery/";

/** Key builder and parser for one prefix. */
export class EtcdLayout {
  readonly prefix: string;
  constructor(prefix = DEFAULT_ETCD_PREFIX) {
    this.prefix = prefix.endsWith("/") ? prefix : `${prefix}/`;
  }

  /** Every affiliate key starts with these bytes. */
  get affiliatesPrefix(): Uint8Array {
    return utf8.encode(`${this.prefix}a/`);
  }

  /** The key of one affiliate. */
  affiliateKey(clusterId: string, affiliateId: string): Uint8Array {
    return utf8.encode(
      `${this.prefix}a/${encodeURIComponent(clusterId)}/${
        encodeURIComponent(affiliateId)
      }`,
    );
  }

  /** Cluster and affiliate ids of a key; undefined for a foreign key. */
  parseKey(
    key: Uint8Array,
  ): { clusterId: string; affiliateId: string } | undefined {
    const s = text.decode(key);
    const head = `${this.prefix}a/`;
    if (!s.startsWith(head)) return undefined;
    const parts = s.slice(head.length).split("/");
    if (parts.length !== 2) return undefined;
    try {
      return {
        clusterId: decodeURIComponent(parts[0]!),
        affiliateId: decodeURIComponent(parts[1]!),
      };
    } catch {
      return undefined;
    }
  }
}

interface ValueJson {
  d: string;
  x: number;
  e: [string, number][];
}

/** The value stored for an affiliate. */
export function encodeAffiliate(a: StoredAffiliate): Uint8Array {
  let data = "";
  for (let i = 0; i < a.data.length; i += 4096) {
    data += String.fromCharCode(...a.data.subarray(i, i + 4096));
  }
  const v: ValueJson = {
    d: btoa(data),
    x: a.expiresAt,
    e: a.endpoints.map((e) => [btoa(e.key), e.expiresAt]),
  };
  return utf8.encode(JSON.stringify(v));
}

/** Decodes a stored value; undefined when it is not one of ours. */
export function decodeAffiliate(
  id: string,
  value: Uint8Array,
): StoredAffiliate | undefined {
  try {
    const v = JSON.parse(text.decode(value)) as ValueJson;
    if (typeof v.x !== "number" || !Array.isArray(v.e)) return undefined;
    return {
      id,
      data: Uint8Array.from(atob(v.d), (c) => c.charCodeAt(0)),
      expiresAt: v.x,
      endpoints: v.e.map(([k, x]) => ({ key: atob(k), expiresAt: x })),
    };
  } catch {
    return undefined;
  }
}
