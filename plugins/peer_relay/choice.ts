/**
 * Which relay a pair uses: both ends rank the relays the same way (a hash
 * of the pair and the relay key), and take the first one on which both are
 * known to be (the relay says so). Pure.
 *
 * @module
 */

/** The unordered pair of two public keys, as `low|high`. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** 32-bit FNV-1a of a string's UTF-16 code units (stable across boxes). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The relays in the order a pair tries them: higher priority first, then
 * by the hash of pair and relay key (ties by key), so pairs spread over
 * equal relays and both ends agree. The pair's own members are never
 * their relay.
 */
export function rankRelays(
  a: string,
  b: string,
  relays: readonly { key: string; priority: number }[],
): string[] {
  const pair = pairKey(a, b);
  const seen = new Set<string>();
  return relays
    .filter((r) =>
      r.key !== a && r.key !== b && !seen.has(r.key) && seen.add(r.key)
    )
    .map((r) => ({ ...r, h: fnv1a(`${pair}|${r.key}`) }))
    .sort((x, y) =>
      y.priority - x.priority || x.h - y.h ||
      (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)
    )
    .map((x) => x.key);
}

/** What a relay last answered this box about one pair. */
export interface RelayAnswer {
  /** ms since the epoch. */
  at: number;
  /** The other end of the pair has asked this relay too. */
  joined: boolean;
  /** Legs allocated for the pair (only when asked to use it). */
  leg?: number;
  /** Why the relay refused, when it did. */
  refused?: string;
}

/** A relay as one box sees it. */
export interface RelayView {
  /** The relay's public key. */
  key: string;
  label: string;
  /** This box's WireGuard session with the relay is up. */
  up: boolean;
  /** The relay's underlay address this box reaches it at (no port). */
  host: string;
  answer?: RelayAnswer;
  /** The relay failed this pair until then (ms since the epoch). */
  failedUntil?: number;
}

/** The relay a pair uses, and this end's leg on it. */
export interface RelayChoice {
  relay: string;
  label: string;
  /** `host:leg` to give WireGuard as the peer's endpoint. */
  endpoint: string;
}

/** How long a relay answer counts (three missed 1 s refreshes). */
export const ANSWER_FRESH_MS = 3_500;

/** Formats `host:port`, bracketing an IPv6 host. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The relays this end may still use, in rank order. */
export function usableRelays(
  ranked: readonly string[],
  views: ReadonlyMap<string, RelayView>,
  now: number,
): RelayView[] {
  return ranked.flatMap((k) => {
    const v = views.get(k);
    return v && v.up && v.host !== "" && !((v.failedUntil ?? 0) > now)
      ? [v]
      : [];
  });
}

/**
 * The relay to ask for legs: the first usable one whose fresh answer says
 * the other end joined it too and that did not refuse.
 */
export function preferredRelay(
  ranked: readonly string[],
  views: ReadonlyMap<string, RelayView>,
  now: number,
): RelayView | undefined {
  return usableRelays(ranked, views, now).find((v) =>
    v.answer !== undefined && now - v.answer.at < ANSWER_FRESH_MS &&
    v.answer.joined && v.answer.refused === undefined
  );
}

/**
 * The relay the pair uses: the first usable relay (in rank order) with a
 * fresh answer that holds a leg for this end. Legs exist only where both
 * ends joined and one asked to use the relay, so both ends converge on
 * the same relay; the `current` relay is kept while it has a leg. When it
 * dies its answers go stale and the next one with legs (or the next
 * preferred) takes over.
 */
export function chooseRelay(
  ranked: readonly string[],
  views: ReadonlyMap<string, RelayView>,
  now: number,
  current?: string,
): RelayChoice | undefined {
  const withLeg = usableRelays(ranked, views, now).filter((v) =>
    v.answer !== undefined && now - v.answer.at < ANSWER_FRESH_MS &&
    v.answer.leg !== undefined
  );
  // A working relay is kept: moving costs both ends a switch.
  const v = withLeg.find((x) => x.key === current) ?? withLeg[0];
  if (!v || v.answer?.leg === undefined) return undefined;
  return {
    relay: v.key,
    label: v.label,
    endpoint: hostPort(v.host, v.answer.leg),
  };
}
