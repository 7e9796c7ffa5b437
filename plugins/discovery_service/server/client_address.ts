/**
 * The caller's IP as the service reports it in Hello, and the key per-client
 * limits (rate limit, connections) count under.
 *
 * @module
 */
import { formatIP, maskIP, tryParseIP } from "../../../core/netaddr/ip.ts";

/**
 * Picks the client address: `X-Real-IP`, then the first `X-Forwarded-For`
 * entry when proxy headers are trusted, else the socket peer (with an
 * IPv4-mapped IPv6 address reduced to IPv4, as Go's netip does).
 */
export function pickClientAddress(
  header: (name: string) => string | undefined,
  remote: string,
  trustHeaders: boolean,
): string {
  if (trustHeaders) {
    const real = header("x-real-ip")?.trim();
    if (real && tryParseIP(real)) return real;
    const fwd = header("x-forwarded-for")?.split(",")[0]?.trim();
    if (fwd && tryParseIP(fwd)) return fwd;
  }
  return remote.startsWith("::ffff:") && remote.includes(".")
    ? remote.slice(7)
    : remote;
}

/** Bits of an IPv6 address that per-client limits look at. */
export const IPV6_CLIENT_BITS = 64;

/**
 * The key per-client limits count under: an IPv4 address itself (also when
 * written IPv4-mapped), an IPv6 address's /64. One host usually holds a whole
 * /64 and can use a fresh address for every call, so keying by the full IPv6
 * address would give it 2^64 budgets. Text that is no address is its own key.
 */
export function clientKey(ip: string): string {
  const parsed = tryParseIP(ip);
  if (!parsed) return ip;
  if (parsed.family === 4) return formatIP(parsed);
  const b = parsed.bytes;
  if (
    b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff
  ) {
    return Array.from(b.subarray(12)).join(".");
  }
  return `${formatIP(maskIP(parsed, IPV6_CLIENT_BITS))}/${IPV6_CLIENT_BITS}`;
}
