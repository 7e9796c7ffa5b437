/**
 * Learned UDP mappings as candidates: where other nodes really reach a peer
 * (their WireGuard's live endpoint, shared in edgespan's payload extension)
 * and endpoints harvested for it (Talos semantics), placed right after the
 * peer's local candidates, ahead of its guessed `publicIP:listenPort`, and
 * aged out when no handshake confirms them. Pure; time is an input.
 *
 * @module
 */
import { formatIP, parseAddrPort, parseIP } from "../../core/netaddr/ip.ts";
import type { AffiliateSpec } from "../../core/resources/specs.ts";

/**
 * How long an endpoint harvested for a peer stays a candidate without a
 * confirmation (an observation by an edgespan node, or this node's own
 * live session there). Two WireGuard rekey intervals.
 */
export const LEARNED_AGE_OUT_MS = 240_000;

/** Inputs of {@linkcode learnedCandidates}. */
export interface LearnedInput {
  /** The peer's endpoints as discovery lists them (its own, then harvested). */
  endpoints: readonly string[];
  /** The peer's affiliate. */
  peer: Pick<AffiliateSpec, "nodeId" | "addresses" | "edgespan">;
  /** Every affiliate known here, for their observations of the peer. */
  observers: readonly Pick<AffiliateSpec, "nodeId" | "edgespan">[];
  /** WireGuard's live endpoint of the peer on this node, when it is up. */
  liveEndpoint?: string;
  /**
   * Per endpoint harvested for the peer: when it was last confirmed (or
   * first seen). From the previous call; empty at first.
   */
  confirmed: ReadonlyMap<string, number>;
  /** ms since the epoch. */
  now: number;
  /** @default LEARNED_AGE_OUT_MS */
  ageOutMs?: number;
}

/** Output of {@linkcode learnedCandidates}. */
export interface LearnedResult {
  /** The candidates in the order to try them. */
  endpoints: string[];
  /** The learned ones among them (observed or harvested), in that order. */
  learned: string[];
  /**
   * Harvested endpoints left out because nothing confirmed them in time
   * (every call, until one is confirmed again or no longer listed).
   */
  aged: string[];
  /** The confirmation times to pass to the next call. */
  confirmed: Map<string, number>;
}

function hostOf(endpoint: string): string | undefined {
  try {
    return formatIP(parseAddrPort(endpoint).ip);
  } catch {
    return undefined;
  }
}

/**
 * Orders a peer's candidates. Its own endpoints keep their order; learned
 * endpoints go right after the leading run of its own endpoints on its node
 * addresses (its local candidates):
 * 1. endpoints other nodes observe it at now, most observers first (never
 *    one of its node addresses it did not advertise: that is not a NAT
 *    mapping, and the node chose not to offer it);
 * 2. endpoints harvested for it (in the listed order) while confirmed by an
 *    observation or this node's live session within `ageOutMs`; older ones
 *    are dropped.
 * A peer without the extension (a Talos node) lists no harvested endpoints
 * as such: its list is its own.
 */
export function learnedCandidates(input: LearnedInput): LearnedResult {
  const ageOut = input.ageOutMs ?? LEARNED_AGE_OUT_MS;
  const advertised = input.peer.edgespan?.advertised;
  const own = advertised
    ? input.endpoints.filter((e) => advertised.includes(e))
    : [...input.endpoints];
  const harvested = input.endpoints.filter((e) => !own.includes(e));
  const nodeAddresses = new Set(
    input.peer.addresses.flatMap((a) => {
      try {
        return [formatIP(parseIP(a))];
      } catch {
        return [];
      }
    }),
  );
  const onNode = (e: string) => nodeAddresses.has(hostOf(e) ?? "");

  const votes = new Map<string, number>();
  for (const o of input.observers) {
    if (o.nodeId === input.peer.nodeId) continue;
    const mine = new Set(
      (o.edgespan?.observed ?? []).filter((x) =>
        x.affiliateID === input.peer.nodeId
      ).map((x) => x.endpoint),
    );
    for (const e of mine) votes.set(e, (votes.get(e) ?? 0) + 1);
  }
  const observed = [...votes.keys()]
    .filter((e) => hostOf(e) !== undefined && (own.includes(e) || !onNode(e)))
    .sort((a, b) => votes.get(b)! - votes.get(a)!);

  const confirmed = new Map<string, number>();
  const kept: string[] = [];
  const aged: string[] = [];
  for (const e of harvested) {
    const ok = votes.has(e) || e === input.liveEndpoint;
    const at = ok ? input.now : (input.confirmed.get(e) ?? input.now);
    // Remembered even when aged out, so it stays out until confirmed again.
    confirmed.set(e, at);
    if (input.now - at > ageOut) aged.push(e);
    else kept.push(e);
  }

  const learned = [...observed];
  for (const e of kept) if (!learned.includes(e)) learned.push(e);
  let lead = 0;
  while (lead < own.length && onNode(own[lead]!)) lead++;
  const head = own.slice(0, lead);
  const endpoints = [...head];
  for (const e of [...learned, ...own.slice(lead)]) {
    if (!endpoints.includes(e)) endpoints.push(e);
  }
  return {
    endpoints,
    learned: learned.filter((e) => !head.includes(e)),
    aged,
    confirmed,
  };
}
