/**
 * What the API may show of a resource. The store already redacts the
 * fields its definitions mark sensitive; this is a second, independent net:
 * the identity loses its private key entirely and any key that names a
 * secret (plugin options included) is masked.
 *
 * @module
 */
import { REDACTED, type Resource } from "../core/resources/store.ts";

const SECRET_KEY = /private.?key|secret|token|password|preshared|passphrase/i;

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== ""
      ? REDACTED
      : scrub(v);
  }
  return out;
}

/** A resource's spec as the API serves it. */
export function publicSpec(type: string, spec: unknown): unknown {
  if (type === "identity" && typeof spec === "object" && spec !== null) {
    const { privateKey: _omitted, ...rest } = spec as Record<string, unknown>;
    return scrub(rest);
  }
  return scrub(spec);
}

/** The JSON shape of one resource: `updated` as RFC 3339 for people reading curl output. */
export interface ApiResource {
  type: string;
  id: string;
  version: number;
  updated: string;
  spec: unknown;
}

/** A resource as the API serves it. */
export function publicResource(r: Resource): ApiResource {
  return {
    type: r.type,
    id: r.id,
    version: r.version,
    updated: new Date(r.updated).toISOString(),
    spec: publicSpec(r.type, r.spec),
  };
}
