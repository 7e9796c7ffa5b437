/**
 * Sets of IP addresses as sorted, disjoint ranges per family, with union,
 * subtraction and intersection, emitted as the minimal sorted CIDR list
 * (IPv4 before IPv6), as KubeSpan builds WireGuard allowed IPs.
 *
 * @module
 */
import { formatPrefix, type IPFamily, parsePrefix, type Prefix } from "./ip.ts";
import {
  type IPRange,
  mergeRanges,
  prefixRange,
  rangeToPrefixes,
} from "./range.ts";

function subtractRanges(a: IPRange[], b: IPRange[]): IPRange[] {
  let out = a.map((r) => ({ ...r }));
  for (const cut of b) {
    const next: IPRange[] = [];
    for (const r of out) {
      if (cut.end < r.start || cut.start > r.end) {
        next.push(r);
        continue;
      }
      if (cut.start > r.start) {
        next.push({ start: r.start, end: cut.start - 1n });
      }
      if (cut.end < r.end) next.push({ start: cut.end + 1n, end: r.end });
    }
    out = next;
  }
  return out;
}

function intersectRanges(a: IPRange[], b: IPRange[]): IPRange[] {
  const out: IPRange[] = [];
  for (const x of a) {
    for (const y of b) {
      const start = x.start > y.start ? x.start : y.start;
      const end = x.end < y.end ? x.end : y.end;
      if (start <= end) out.push({ start, end });
    }
  }
  return mergeRanges(out);
}

/** An immutable set of addresses. */
export class IPSet {
  readonly #v4: IPRange[];
  readonly #v6: IPRange[];

  private constructor(v4: IPRange[], v6: IPRange[]) {
    this.#v4 = v4;
    this.#v6 = v6;
  }

  /** The empty set. */
  static empty(): IPSet {
    return new IPSet([], []);
  }

  /** A set from prefixes (host bits are ignored). */
  static of(prefixes: readonly (Prefix | string)[]): IPSet {
    const v4: IPRange[] = [];
    const v6: IPRange[] = [];
    for (const item of prefixes) {
      const p = typeof item === "string" ? parsePrefix(item) : item;
      (p.ip.family === 4 ? v4 : v6).push(prefixRange(p));
    }
    return new IPSet(mergeRanges(v4), mergeRanges(v6));
  }

  union(other: IPSet): IPSet {
    return new IPSet(
      mergeRanges([...this.#v4, ...other.#v4]),
      mergeRanges([...this.#v6, ...other.#v6]),
    );
  }

  subtract(other: IPSet): IPSet {
    return new IPSet(
      subtractRanges(this.#v4, other.#v4),
      subtractRanges(this.#v6, other.#v6),
    );
  }

  intersect(other: IPSet): IPSet {
    return new IPSet(
      intersectRanges(this.#v4, other.#v4),
      intersectRanges(this.#v6, other.#v6),
    );
  }

  isEmpty(): boolean {
    return this.#v4.length === 0 && this.#v6.length === 0;
  }

  overlaps(other: IPSet): boolean {
    return !this.intersect(other).isEmpty();
  }

  /** Minimal prefixes, sorted, IPv4 first. */
  prefixes(): Prefix[] {
    return [
      ...this.#v4.flatMap((r) => rangeToPrefixes(r, 4)),
      ...this.#v6.flatMap((r) => rangeToPrefixes(r, 6)),
    ];
  }

  /** {@linkcode IPSet.prefixes} as text. */
  toStrings(): string[] {
    return this.prefixes().map(formatPrefix);
  }

  /** Prefixes of one family. */
  prefixesOf(family: IPFamily): Prefix[] {
    return this.prefixes().filter((p) => p.ip.family === family);
  }
}
