/**
 * The forwarding decision of one relayed pair, pure: each leg latches onto
 * the first sender (from the address the relay's own WireGuard sees that
 * box at, when known), later datagrams from anyone else are dropped, and a
 * datagram goes out of the other leg to the address latched there. Bytes
 * pass unchanged: the relay never holds a key of the pair.
 *
 * @module
 */

/** A UDP source or destination. */
export interface UdpAddress {
  address: string;
  port: number;
}

/** One leg of a pair. */
export interface Leg {
  /** Only this host may latch the leg (the box's underlay address). */
  expectHost?: string;
  latched?: UdpAddress;
}

/** What to do with a datagram that arrived on a leg. */
export type LegAction =
  /** Send it out of the other leg to `to`. */
  | { kind: "forward"; to: UdpAddress }
  /** Keep it until the other leg latches (one datagram is held). */
  | { kind: "hold" }
  /** Drop it: `reason` says why. */
  | { kind: "drop"; reason: "foreign" | "rate" };

const same = (a: UdpAddress, b: UdpAddress) =>
  a.address === b.address && a.port === b.port;

/** Strips the IPv4-mapped prefix (`::ffff:198.51.100.1`). */
export function plainHost(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * Routes a datagram from `from` arriving on leg `side` of `legs`; latches
 * the leg on its first sender (mutates `legs[side]`).
 */
export function routeDatagram(
  legs: [Leg, Leg],
  side: 0 | 1,
  from: UdpAddress,
): LegAction {
  const leg = legs[side];
  const src = { address: plainHost(from.address), port: from.port };
  if (!leg.latched) {
    if (leg.expectHost !== undefined && leg.expectHost !== src.address) {
      return { kind: "drop", reason: "foreign" };
    }
    leg.latched = src;
  } else if (!same(leg.latched, src)) {
    // A NAT rebinding gives the box a new port: re-latch from the same host.
    if (leg.expectHost === undefined || leg.expectHost !== src.address) {
      return { kind: "drop", reason: "foreign" };
    }
    leg.latched = src;
  }
  const other = legs[side === 0 ? 1 : 0];
  return other.latched
    ? { kind: "forward", to: other.latched }
    : { kind: "hold" };
}

/** A byte budget per second for everything a relay forwards. */
export class ByteBucket {
  readonly #rate: number;
  #tokens: number;
  #at: number;

  /** `rate` bytes per second, with a burst of one second's worth. */
  constructor(rate: number, now: number) {
    this.#rate = rate;
    this.#tokens = rate;
    this.#at = now;
  }

  /** Takes `bytes` at `now` (ms); false = over the budget, drop. */
  take(bytes: number, now: number): boolean {
    this.#tokens = Math.min(
      this.#rate,
      this.#tokens + ((now - this.#at) / 1000) * this.#rate,
    );
    this.#at = now;
    if (this.#tokens < bytes) return false;
    this.#tokens -= bytes;
    return true;
  }
}
