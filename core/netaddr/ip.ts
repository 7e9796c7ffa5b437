/**
 * IP addresses, prefixes and `ip:port` pairs as plain, validated values.
 *
 * Addresses are kept as raw bytes (4 for IPv4, 16 for IPv6) so that they can go
 * straight into netlink attributes and protobuf fields, and are printed in the
 * canonical text form (RFC 5952 for IPv6).
 *
 * @module
 */

/** Address family of an {@linkcode IP}. */
export type IPFamily = 4 | 6;

/** An IPv4 or IPv6 address as raw network-order bytes. */
export interface IP {
  readonly family: IPFamily;
  readonly bytes: Uint8Array;
}

/** A network prefix: an address and a prefix length. */
export interface Prefix {
  readonly ip: IP;
  readonly bits: number;
}

/** An address and a UDP port, as WireGuard endpoints are written. */
export interface AddrPort {
  readonly ip: IP;
  readonly port: number;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) {
      return undefined;
    }
    const value = Number(part);
    if (value > 255) return undefined;
    out[i] = value;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  if (text.includes("%")) return undefined; // zones are never valid here
  let tail: Uint8Array | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    body = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const words = [
    ...head,
    ...Array<string>(8 - total).fill("0"),
    ...rest,
  ];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const word = words[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(word)) return undefined;
    const value = parseInt(word, 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address, returning `undefined` when it is not one. */
export function tryParseIP(text: string): IP | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

/**
 * Parses an IPv4 or IPv6 address.
 *
 * @throws {SyntaxError} when the text is not an address
 */
export function parseIP(text: string): IP {
  const ip = tryParseIP(text);
  if (!ip) throw new SyntaxError(`Cannot parse "${text}" as an IP address`);
  return ip;
}

/** Builds an address from 4 or 16 raw bytes (as netlink and protobuf carry them). */
export function ipFromBytes(bytes: Uint8Array): IP {
  if (bytes.length === 4) return { family: 4, bytes: bytes.slice() };
  if (bytes.length === 16) return { family: 6, bytes: bytes.slice() };
  throw new RangeError(
    `Cannot read an IP address from ${bytes.length} bytes: expected 4 or 16`,
  );
}

/** Formats an address in canonical text form (RFC 5952 for IPv6). */
export function formatIP(ip: IP): string {
  const b = ip.bytes;
  if (ip.family === 4) return Array.from(b).join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // Longest run of two or more zero words becomes "::" (first one on a tie).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${
    hex(words.slice(bestStart + bestLen))
  }`;
}

/** Number of bits in an address of the family. */
export function familyBits(family: IPFamily): number {
  return family === 4 ? 32 : 128;
}

/** Returns the address with every bit after `bits` cleared. */
export function maskIP(ip: IP, bits: number): IP {
  const out = ip.bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = out[i]! & (0xff << (8 - keep)) & 0xff;
  }
  return { family: ip.family, bytes: out };
}

/**
 * Parses `addr/bits`, or a bare address as a host prefix (/32 or /128).
 * The address keeps its host bits; use {@linkcode maskPrefix} to drop them.
 *
 * @throws {SyntaxError} when the text is not a prefix
 */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf("/");
  const ip = tryParseIP(slash < 0 ? text : text.slice(0, slash));
  if (!ip) throw new SyntaxError(`Cannot parse "${text}" as an IP prefix`);
  if (slash < 0) return { ip, bits: familyBits(ip.family) };
  const bitsText = text.slice(slash + 1);
  const bits = Number(bitsText);
  if (
    !/^\d{1,3}$/.test(bitsText) || bits > familyBits(ip.family)
  ) {
    throw new SyntaxError(
      `Cannot parse "${text}" as an IP prefix: length must be 0-${
        familyBits(ip.family)
      }`,
    );
  }
  return { ip, bits };
}

/** Returns the prefix with its host bits cleared (`10.244.3.1/24` → `10.244.3.0/24`). */
export function maskPrefix(prefix: Prefix): Prefix {
  return { ip: maskIP(prefix.ip, prefix.bits), bits: prefix.bits };
}

/** Formats a prefix as `addr/bits`. */
export function formatPrefix(prefix: Prefix): string {
  return `${formatIP(prefix.ip)}/${prefix.bits}`;
}

/** Whether `ip` lies inside `prefix` (families must match). */
export function prefixContains(prefix: Prefix, ip: IP): boolean {
  if (prefix.ip.family !== ip.family) return false;
  return ipEqual(maskIP(prefix.ip, prefix.bits), maskIP(ip, prefix.bits));
}

/** Byte-wise equality of two addresses. */
export function ipEqual(a: IP, b: IP): boolean {
  if (a.family !== b.family) return false;
  for (let i = 0; i < a.bytes.length; i++) {
    if (a.bytes[i] !== b.bytes[i]) return false;
  }
  return true;
}

/** Orders IPv4 before IPv6, then by bytes, as netip does. */
export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = a.bytes[i]! - b.bytes[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Parses `ip:port` or `[ipv6]:port`.
 *
 * @throws {SyntaxError} when the text is not an address and port
 */
export function parseAddrPort(text: string): AddrPort {
  const fail = (why: string) =>
    new SyntaxError(`Cannot parse "${text}" as ip:port: ${why}`);
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") {
      throw fail("expected [ipv6]:port");
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) throw fail("the port is missing");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) throw fail("write IPv6 endpoints as [addr]:port");
  }
  const ip = tryParseIP(host);
  if (!ip) throw fail(`"${host}" is not an IP address`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw fail(`port "${portText}" is not 0-65535`);
  }
  return { ip, port: Number(portText) };
}

/** Formats `ip:port`, bracketing IPv6 addresses. */
export function formatAddrPort(ap: AddrPort): string {
  const host = formatIP(ap.ip);
  return ap.ip.family === 6 ? `[${host}]:${ap.port}` : `${host}:${ap.port}`;
}
