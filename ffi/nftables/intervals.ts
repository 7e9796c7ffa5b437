/**
 * Interval-set elements as `nft` sends them: each merged address range is
 * a start element plus an end element (`end + 1`, flagged INTERVAL_END).
 * And back: elements read from the kernel to ranges. The address
 * arithmetic (prefix ranges, merging, splitting into prefixes) is
 * `core/netaddr/range.ts`.
 *
 * @module
 */
import { familyBits, parsePrefix } from "../../core/netaddr/ip.ts";
import {
  ipFromBigInt,
  type IPRange,
  ipToBigInt,
  mergeRanges,
  prefixRange,
} from "../../core/netaddr/range.ts";

/** One set element to send. */
export interface IntervalElement {
  key: Uint8Array;
  /** True for an interval end (exclusive bound). */
  end: boolean;
}

/**
 * Merges prefixes of one family (4 or 6) into sorted disjoint ranges.
 *
 * @throws {TypeError} when a prefix is of the other family
 */
export function prefixesToRanges(
  prefixes: readonly string[],
  family: 4 | 6,
): IPRange[] {
  return mergeRanges(prefixes.map((s) => {
    const p = parsePrefix(s);
    if (p.ip.family !== family) {
      throw new TypeError(`Cannot put "${s}" into an IPv${family} set`);
    }
    return prefixRange(p);
  }));
}

/**
 * The elements `nft` sends for these ranges: an end element at 0 first
 * when the set does not start at 0 (older rbtree kernels want it), then a
 * start and an end (`end + 1`, omitted at the top of the space) per range.
 */
export function rangesToElements(
  ranges: readonly IPRange[],
  family: 4 | 6,
): IntervalElement[] {
  const max = (1n << BigInt(familyBits(family))) - 1n;
  const key = (n: bigint) => ipFromBigInt(n, family).bytes;
  const out: IntervalElement[] = [];
  if (ranges.length > 0 && ranges[0]?.start !== 0n) {
    out.push({ key: key(0n), end: true });
  }
  for (const r of ranges) {
    out.push({ key: key(r.start), end: false });
    if (r.end < max) out.push({ key: key(r.end + 1n), end: true });
  }
  return out;
}

/** Rebuilds ranges from elements read back (start/end flags). */
export function elementsToRanges(
  elements: readonly IntervalElement[],
  family: 4 | 6,
): IPRange[] {
  const max = (1n << BigInt(familyBits(family))) - 1n;
  const sorted = elements.map((e) => ({
    n: ipToBigInt({ family, bytes: e.key }),
    end: e.end,
  })).sort((a, b) =>
    a.n < b.n ? -1 : a.n > b.n ? 1 : a.end === b.end ? 0 : a.end ? -1 : 1
  );
  const out: IPRange[] = [];
  let open: bigint | undefined;
  for (const e of sorted) {
    if (e.end) {
      if (open !== undefined) out.push({ start: open, end: e.n - 1n });
      open = undefined;
    } else {
      open = e.n;
    }
  }
  if (open !== undefined) out.push({ start: open, end: max });
  return out;
}
