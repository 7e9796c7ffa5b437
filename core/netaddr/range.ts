/**
 * Address ranges as integers: a prefix becomes an inclusive range, ranges
 * merge into sorted disjoint lists, and a range splits back into the fewest
 * prefixes. The arithmetic under {@linkcode IPSet} and nftables interval
 * sets.
 *
 * @module
 */
import {
  familyBits,
  type IP,
  type IPFamily,
  maskIP,
  type Prefix,
} from "./ip.ts";

/** An inclusive range of addresses of one family, as integers. */
export interface IPRange {
  /** First address of the range. */
  start: bigint;
  /** Last address of the range (inclusive). */
  end: bigint;
}

/** An address as an unsigned integer (`10.0.0.1` → `0x0a000001n`). */
export function ipToBigInt(ip: IP): bigint {
  let n = 0n;
  for (const b of ip.bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * The address of a family with integer value `n`.
 *
 * @throws {RangeError} when `n` does not fit the family
 */
export function ipFromBigInt(n: bigint, family: IPFamily): IP {
  const bits = familyBits(family);
  if (n < 0n || n >> BigInt(bits) !== 0n) {
    throw new RangeError(
      `Cannot make an IPv${family} address of ${n}: it is outside 0-2^${bits}-1`,
    );
  }
  const bytes = new Uint8Array(bits / 8);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return { family, bytes };
}

/** The addresses a prefix covers (host bits ignored). */
export function prefixRange(prefix: Prefix): IPRange {
  const start = ipToBigInt(maskIP(prefix.ip, prefix.bits));
  const width = BigInt(familyBits(prefix.ip.family) - prefix.bits);
  return { start, end: start + (1n << width) - 1n };
}

/** Sorts ranges and merges overlapping and adjacent ones. */
export function mergeRanges(ranges: readonly IPRange[]): IPRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : 0
  );
  const out: IPRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** Splits a range into the fewest prefixes, in address order. */
export function rangeToPrefixes(range: IPRange, family: IPFamily): Prefix[] {
  const bits = familyBits(family);
  const out: Prefix[] = [];
  let start = range.start;
  while (start <= range.end) {
    // Largest aligned block starting at `start` that fits in the range.
    let host = 0;
    while (host < bits) {
      const block = 1n << BigInt(host + 1);
      if (start % block !== 0n || start + block - 1n > range.end) break;
      host++;
    }
    out.push({ ip: ipFromBigInt(start, family), bits: bits - host });
    start += 1n << BigInt(host);
  }
  return out;
}
