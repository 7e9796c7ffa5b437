/**
 * Interval-set elements: prefixes become merged, non-overlapping ranges;
 * each range is a start element plus an end element (`end + 1`, flagged
 * INTERVAL_END), as `nft` sends them. And back: ranges to prefixes.
 *
 * @module
 */
import { formatIp, parsePrefix } from "../rtnetlink/_ip.ts";

/** An inclusive address range as integers. */
export interface IpRange {
  start: bigint;
  end: bigint;
}

/** One set element to send. */
export interface IntervalElement {
  key: Uint8Array<ArrayBuffer>;
  /** True for an interval end (exclusive bound). */
  end: boolean;
}

function toBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function fromBig(n: bigint, len: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** Merges prefixes of one family (4 or 6) into sorted disjoint ranges. */
export function prefixesToRanges(
  prefixes: readonly string[],
  family: 4 | 6,
): IpRange[] {
  const bits = family === 4 ? 32n : 128n;
  const ranges = prefixes.map((s) => {
    const p = parsePrefix(s);
    if (p.family !== family) {
      throw new TypeError(`Cannot put "${s}" into an IPv${family} set`);
    }
    const host = bits - BigInt(p.length);
    const start = (toBig(p.bytes) >> host) << host;
    return { start, end: start + (1n << host) - 1n };
  }).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: IpRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/**
 * The elements `nft` sends for these ranges: an end element at 0 first
 * when the set does not start at 0 (older rbtree kernels want it), then a
 * start and an end (`end + 1`, omitted at the top of the space) per range.
 */
export function rangesToElements(
  ranges: readonly IpRange[],
  family: 4 | 6,
): IntervalElement[] {
  const len = family === 4 ? 4 : 16;
  const max = (1n << BigInt(len * 8)) - 1n;
  const out: IntervalElement[] = [];
  if (ranges.length > 0 && ranges[0]?.start !== 0n) {
    out.push({ key: fromBig(0n, len), end: true });
  }
  for (const r of ranges) {
    out.push({ key: fromBig(r.start, len), end: false });
    if (r.end < max) out.push({ key: fromBig(r.end + 1n, len), end: true });
  }
  return out;
}

/** Rebuilds ranges from elements read back (start/end flags). */
export function elementsToRanges(
  elements: readonly IntervalElement[],
  family: 4 | 6,
): IpRange[] {
  const max = (1n << (family === 4 ? 32n : 128n)) - 1n;
  const sorted = elements.map((e) => ({ n: toBig(e.key), end: e.end }))
    .sort((
      a,
      b,
    ) => (a.n < b.n
      ? -1
      : a.n > b.n
      ? 1
      : a.end === b.end
      ? 0
      : a.end
      ? -1
      : 1)
    );
  const out: IpRange[] = [];
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

/** Splits a range into the fewest prefixes (`10.0.0.0/8` text). */
export function rangeToPrefixes(r: IpRange, family: 4 | 6): string[] {
  const bits = family === 4 ? 32 : 128;
  const len = bits / 8;
  const out: string[] = [];
  let start = r.start;
  while (start <= r.end) {
    let host = 0;
    while (
      host < bits && (start & ((1n << BigInt(host + 1)) - 1n)) === 0n &&
      start + (1n << BigInt(host + 1)) - 1n <= r.end
    ) host++;
    out.push(`${formatIp(fromBig(start, len))}/${bits - host}`);
    start += 1n << BigInt(host);
  }
  return out;
}
