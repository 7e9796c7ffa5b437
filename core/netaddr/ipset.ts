/**
 * Sets of IP addresses as sorted, disjoint ranges per family, with union,
 * subtraction and intersection, emitted as the minimal sorted CIDR list
 * (IPv4 before IPv6), as KubeSpan builds WireGuard allowed IPs.
 *
 * @module
 */
import {
  familyBits,
  formatPrefix,
  type IPFamily,
  maskPrefix,
  parsePrefix,
  type Prefix,
} from "./ip.ts";

/** Inclusive range of addresses as integers. */
interface Range {
  lo: bigint;
  hi: bigint;
}

function toBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function fromBigInt(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function prefixRange(p: Prefix): Range {
  const masked = maskPrefix(p);
  const width = BigInt(familyBits(p.ip.family) - p.bits);
  const lo = toBigInt(masked.ip.bytes);
  return { lo, hi: lo + (1n << width) - 1n };
}

function normalise(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((
    a,
    b,
  ) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1n) {
      if (r.hi > last.hi) last.hi = r.hi;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

function subtractRanges(a: Range[], b: Range[]): Range[] {
  let out = a.map((r) => ({ ...r }));
  for (const cut of b) {
    const next: Range[] = [];
    for (const r of out) {
      if (cut.hi < r.lo || cut.lo > r.hi) {
        next.push(r);
        continue;
      }
      if (cut.lo > r.lo) next.push({ lo: r.lo, hi: cut.lo - 1n });
      if (cut.hi < r.hi) next.push({ lo: cut.hi + 1n, hi: r.hi });
    }
    out = next;
  }
  return out;
}

function intersectRanges(a: Range[], b: Range[]): Range[] {
  const out: Range[] = [];
  for (const x of a) {
    for (const y of b) {
      const lo = x.lo > y.lo ? x.lo : y.lo;
      const hi = x.hi < y.hi ? x.hi : y.hi;
      if (lo <= hi) out.push({ lo, hi });
    }
  }
  return normalise(out);
}

function rangeToPrefixes(r: Range, family: IPFamily): Prefix[] {
  const bits = familyBits(family);
  const out: Prefix[] = [];
  let lo = r.lo;
  while (lo <= r.hi) {
    // Largest aligned block starting at lo that fits in the range.
    let size = 0;
    while (size < bits) {
      const next = size + 1;
      const block = 1n << BigInt(next);
      if (lo % block !== 0n || lo + block - 1n > r.hi) break;
      size = next;
    }
    out.push({
      ip: { family, bytes: fromBigInt(lo, bits / 8) },
      bits: bits - size,
    });
    lo += 1n << BigInt(size);
  }
  return out;
}

/** An immutable set of addresses. */
export class IPSet {
  readonly #v4: Range[];
  readonly #v6: Range[];

  private constructor(v4: Range[], v6: Range[]) {
    this.#v4 = v4;
    this.#v6 = v6;
  }

  /** The empty set. */
  static empty(): IPSet {
    return new IPSet([], []);
  }

  /** A set from prefixes (host bits are ignored). */
  static of(prefixes: readonly (Prefix | string)[]): IPSet {
    const v4: Range[] = [];
    const v6: Range[] = [];
    for (const item of prefixes) {
      const p = typeof item === "string" ? parsePrefix(item) : item;
      (p.ip.family === 4 ? v4 : v6).push(prefixRange(p));
    }
    return new IPSet(normalise(v4), normalise(v6));
  }

  union(other: IPSet): IPSet {
    return new IPSet(
      normalise([...this.#v4, ...other.#v4]),
      normalise([...this.#v6, ...other.#v6]),
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
