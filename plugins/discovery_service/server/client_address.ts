/**
 * The caller's IP as the service reports it in Hello and keys rate limits by.
 *
 * @module
 */
import { tryParseIP } from "../../../core/netaddr/ip.ts";

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
