/**
 * This node's own learned public mappings: where up peers reach it (their
 * observations in edgespan's payload extension), to publish after its own
 * endpoints in the plain KubeSpan endpoint list, the list Talos reads. A
 * Talos peer, which knows nothing of the extension, then gets the real
 * mapping as a candidate too (scenario 5: the guessed `WAN:51820` belongs
 * to another box). Pure; time is an input.
 *
 * @module
 */
import {
  formatAddrPort,
  formatIP,
  parseAddrPort,
  parseIP,
} from "../../core/netaddr/ip.ts";
import type { AffiliateSpec } from "../../core/resources/specs.ts";
import { LEARNED_AGE_OUT_MS } from "./learned.ts";

/**
 * At most this many learned mappings are published: the discovery service
 * keeps 64 endpoints per affiliate, including those other nodes harvest for
 * it, so most of the room stays theirs.
 */
export const SELF_MAPPINGS_MAX = 4;

/** KubeSpan's (the discovery service's) limit of endpoints per affiliate. */
export const ENDPOINTS_PER_AFFILIATE = 64;

/** Inputs of {@linkcode selfMappings}. */
export interface SelfMappingInput {
  /** This node's affiliate id. */
  nodeId: string;
  /** This node's addresses (no port): a node address is no NAT mapping. */
  nodeAddresses: readonly string[];
  /** The endpoints this node publishes of its own, in order. */
  own: readonly string[];
  /** The affiliates known here (this node among them is ignored). */
  observers: readonly Pick<AffiliateSpec, "nodeId" | "edgespan">[];
  /** Node ids of the observers that are `up` here: only theirs count. */
  up: ReadonlySet<string>;
  /** Per mapping: when an up peer last observed it. From the last call. */
  seen: ReadonlyMap<string, number>;
  /** ms since the epoch. */
  now: number;
  /** @default LEARNED_AGE_OUT_MS */
  ageOutMs?: number;
  /** @default SELF_MAPPINGS_MAX */
  max?: number;
}

/** Output of {@linkcode selfMappings}. */
export interface SelfMappingResult {
  /** The mappings to append after the node's own endpoints, best first. */
  endpoints: string[];
  /** The observation times to pass to the next call. */
  seen: Map<string, number>;
}

/** `ip:port` in its canonical form, and its host; null when it does not parse. */
function canonical(endpoint: string): { text: string; host: string } | null {
  try {
    const ap = parseAddrPort(endpoint);
    return { text: formatAddrPort(ap), host: formatIP(ap.ip) };
  } catch {
    return null;
  }
}

/**
 * The learned mappings of this node: endpoints up peers observe it at now,
 * most observers first (then in text order, for a stable list), followed
 * by ones observed within `ageOutMs` but not now (most recent first);
 * never one of its own endpoints (no duplicate) nor an endpoint on one of
 * its node addresses (another port of its own address is no NAT mapping);
 * at most `max`, and never more than the 64 KubeSpan allows in all.
 *
 * @example
 * ```ts
 * import { selfMappings } from "./self_mapping.ts";
 *
 * selfMappings({
 *   nodeId: "w2",
 *   nodeAddresses: ["10.1.0.12"],
 *   own: ["10.1.0.12:51820", "198.51.100.11:51820"],
 *   observers: [{
 *     nodeId: "cp",
 *     edgespan: {
 *       advertised: [],
 *       observed: [{ affiliateID: "w2", endpoint: "198.51.100.11:1024" }],
 *     },
 *   }],
 *   up: new Set(["cp"]),
 *   seen: new Map(),
 *   now: 0,
 * }).endpoints; // ["198.51.100.11:1024"]
 * ```
 */
export function selfMappings(input: SelfMappingInput): SelfMappingResult {
  const ageOut = input.ageOutMs ?? LEARNED_AGE_OUT_MS;
  const max = Math.max(
    0,
    Math.min(
      input.max ?? SELF_MAPPINGS_MAX,
      ENDPOINTS_PER_AFFILIATE - input.own.length,
    ),
  );
  const mine = new Set(input.nodeAddresses.flatMap((a) => {
    try {
      return [formatIP(parseIP(a))];
    } catch {
      return [];
    }
  }));
  const own = new Set(input.own);
  const votes = new Map<string, number>();
  for (const o of input.observers) {
    if (o.nodeId === input.nodeId || !input.up.has(o.nodeId)) continue;
    const at = new Set(
      (o.edgespan?.observed ?? [])
        .filter((x) => x.affiliateID === input.nodeId)
        .map((x) => x.endpoint),
    );
    for (const e of at) {
      const c = canonical(e);
      if (!c || own.has(c.text) || mine.has(c.host)) continue;
      votes.set(c.text, (votes.get(c.text) ?? 0) + 1);
    }
  }
  const seen = new Map<string, number>();
  for (const e of votes.keys()) seen.set(e, input.now);
  for (const [e, at] of input.seen) {
    if (!seen.has(e) && !own.has(e) && input.now - at <= ageOut) {
      seen.set(e, at);
    }
  }
  const current = [...votes.keys()].sort((a, b) =>
    votes.get(b)! - votes.get(a)! || (a < b ? -1 : a > b ? 1 : 0)
  );
  const older = [...seen.keys()].filter((e) => !votes.has(e)).sort((a, b) =>
    seen.get(b)! - seen.get(a)! || (a < b ? -1 : a > b ? 1 : 0)
  );
  return { endpoints: [...current, ...older].slice(0, max), seen };
}
