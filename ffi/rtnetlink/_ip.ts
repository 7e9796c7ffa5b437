/**
 * Minimal IP address and prefix text <-> bytes conversion for the netlink
 * codecs (kept local so `ffi/` does not depend on `core/`).
 *
 * @module
 */

/** An address as bytes with its family. */
export interface IpBytes {
  family: 4 | 6;
  bytes: Uint8Array<ArrayBuffer>;
}

/** A prefix as bytes, family and length. */
export interface PrefixBytes extends IpBytes {
  length: number;
}

function parseV4(s: string): Uint8Array<ArrayBuffer> | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final "."
    if (c === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

function parseV6(s: string): Uint8Array<ArrayBuffer> | undefined {
  let text = s;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail = parseV4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0] ?? "");
  const rest = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [
    ...head,
    ...Array(halves.length === 2 ? missing : 0).fill("0"),
    ...rest,
  ];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i] ?? "";
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** Parses `10.0.0.1` or `fd00::1`; throws TypeError when invalid. */
export function parseIp(s: string): IpBytes {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = s.includes(":") ? parseV6(s) : undefined;
  if (v6) return { family: 6, bytes: v6 };
  throw new TypeError(`Cannot parse IP address "${s}"`);
}

/** Parses `10.0.0.0/8` (a bare address means a host prefix). */
export function parsePrefix(s: string): PrefixBytes {
  const slash = s.indexOf("/");
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  const max = ip.family === 4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : s.slice(slash + 1);
  const length = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || length > max) {
    throw new TypeError(`Cannot parse prefix "${s}": bad length`);
  }
  return { ...ip, length };
}

/** Formats address bytes (4 or 16) as canonical text (RFC 5952). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return [...b].join(".");
  if (b.length !== 16) {
    throw new TypeError(`Cannot format IP address of ${b.length} bytes`);
  }
  const g: number[] = [];
  for (let i = 0; i < 8; i++) {
    g.push(((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0));
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Zeroes the host bits of `bytes` beyond `length`. */
export function maskBytes(
  bytes: Uint8Array,
  length: number,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    out[i] = (out[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** Canonical prefix text with host bits cleared: `10.1.0.0/16`. */
export function canonicalPrefix(s: string): string {
  const p = parsePrefix(s);
  return `${formatIp(maskBytes(p.bytes, p.length))}/${p.length}`;
}
