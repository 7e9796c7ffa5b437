/**
 * The relay's book of pairs: which boxes asked for which pair, the two UDP
 * legs allocated to a pair both ends use, the pair and port limits, and
 * expiry of what nobody refreshes. Pure; time is an input.
 *
 * @module
 */
import { pairKey } from "./choice.ts";

/** Limits and timers of a relay. */
export interface RelayLimits {
  /** First and last UDP port of the legs (inclusive). */
  ports: readonly [number, number];
  /** Pairs served at once. */
  maxPairs: number;
  /** An interest not refreshed for this long is forgotten. @default 10_000 */
  interestTtlMs?: number;
  /** A pair without refresh and traffic for this long is released. @default 30_000 */
  idleMs?: number;
}

/** One pair served: its two legs, low key on the first. */
export interface Allocation {
  /** `low|high` public keys. */
  pair: string;
  keys: readonly [string, string];
  ports: readonly [number, number];
  createdAt: number;
  lastActive: number;
  /** Bytes forwarded, both directions. */
  bytes: number;
}

/** What the relay answers one join. */
export interface JoinAnswer {
  /** The other end asked for this pair too (recently). */
  joined: boolean;
  /** This end's leg, when it asked to use the relay and it may. */
  leg?: number;
  /** Why not, when the relay refuses to allocate. */
  refused?: string;
}

/** The relay's pairs and the interests of boxes in pairs. */
export class RelayTable {
  readonly #limits: Required<RelayLimits>;
  /** pair → key → last join (ms). */
  readonly #interest = new Map<string, Map<string, number>>();
  readonly #allocations = new Map<string, Allocation>();

  constructor(limits: RelayLimits) {
    const [lo, hi] = limits.ports;
    if (!(lo >= 1 && hi <= 65535 && hi >= lo + 1)) {
      throw new RangeError(
        `Cannot serve relay legs on ports ${lo}-${hi}: give a range of at least two ports within 1-65535`,
      );
    }
    this.#limits = { interestTtlMs: 10_000, idleMs: 30_000, ...limits };
  }

  /**
   * `from` asks about its pair with `peer`; with `use` it wants legs. Legs
   * are allocated only once both ends joined, within the pair and port
   * limits; a pair already served answers its legs again.
   */
  join(from: string, peer: string, use: boolean, now: number): JoinAnswer {
    if (from === peer) {
      return { joined: false, refused: "a box cannot pair with itself" };
    }
    const pair = pairKey(from, peer);
    let interest = this.#interest.get(pair);
    if (!interest) this.#interest.set(pair, interest = new Map());
    interest.set(from, now);
    const other = interest.get(peer);
    const joined = other !== undefined &&
      now - other < this.#limits.interestTtlMs;
    const existing = this.#allocations.get(pair);
    if (existing) {
      // Only use (or traffic) keeps a pair: a relay the ends moved away
      // from is released once idle, though they still ask about it.
      if (use) existing.lastActive = now;
      return { joined: true, leg: legOf(existing, from) };
    }
    if (!use || !joined) return { joined };
    if (this.#allocations.size >= this.#limits.maxPairs) {
      return {
        joined,
        refused:
          `relay full: ${this.#allocations.size} of ${this.#limits.maxPairs} pairs`,
      };
    }
    const ports = this.#freePorts();
    if (!ports) return { joined, refused: "relay out of leg ports" };
    const keys = (from < peer ? [from, peer] : [peer, from]) as [
      string,
      string,
    ];
    const allocation: Allocation = {
      pair,
      keys,
      ports,
      createdAt: now,
      lastActive: now,
      bytes: 0,
    };
    this.#allocations.set(pair, allocation);
    return { joined, leg: legOf(allocation, from) };
  }

  /** Traffic on a pair's legs keeps it. */
  touch(pair: string, bytes: number, now: number): void {
    const a = this.#allocations.get(pair);
    if (!a) return;
    a.bytes += bytes;
    a.lastActive = now;
  }

  /** Releases a pair at once (its legs could not be bound). */
  release(pair: string): void {
    this.#allocations.delete(pair);
  }

  /** Drops stale interests; releases and returns idle pairs. */
  expire(now: number): Allocation[] {
    for (const [pair, m] of this.#interest) {
      for (const [k, at] of m) {
        if (now - at >= this.#limits.interestTtlMs) m.delete(k);
      }
      if (m.size === 0) this.#interest.delete(pair);
    }
    const released: Allocation[] = [];
    for (const [pair, a] of this.#allocations) {
      if (now - a.lastActive >= this.#limits.idleMs) {
        this.#allocations.delete(pair);
        released.push(a);
      }
    }
    return released;
  }

  /** Pairs served now, in pair order. */
  allocations(): Allocation[] {
    return [...this.#allocations.values()].sort((x, y) =>
      x.pair < y.pair ? -1 : 1
    );
  }

  /** The lowest two consecutive free ports (an even offset from the base). */
  #freePorts(): [number, number] | undefined {
    const used = new Set(
      [...this.#allocations.values()].flatMap((a) => [...a.ports]),
    );
    const [lo, hi] = this.#limits.ports;
    for (let p = lo; p + 1 <= hi; p += 2) {
      if (!used.has(p) && !used.has(p + 1)) return [p, p + 1];
    }
    return undefined;
  }
}

function legOf(a: Allocation, key: string): number {
  return a.keys[0] === key ? a.ports[0] : a.ports[1];
}

/** Parses `lo-hi` (or one port); throws a RangeError saying what to give. */
export function parsePortRange(text: string): [number, number] {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5}))?\s*$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(lo >= 1 && hi <= 65535 && hi > lo)) {
    throw new RangeError(
      `Cannot read port range "${text}": give two ports such as 51900-51999`,
    );
  }
  return [lo, hi];
}
