/**
 * Where an address can be used: special ranges that are never a box's
 * address (loopback, link-local, multicast, unspecified), and ranges that
 * are reachable only inside their own network (RFC 1918, RFC 6598 shared
 * space, IPv6 ULA, "this network").
 *
 * @module
 */
import { type IP, parsePrefix, prefixContains } from "./ip.ts";

const SPECIAL_RANGES = [
  "0.0.0.0/32",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "::/128",
  "::1/128",
  "fe80::/10",
  "ff00::/8",
].map(parsePrefix);

const LOCAL_ONLY_RANGES = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "fc00::/7",
].map(parsePrefix);

/** Loopback, link-local unicast, multicast or unspecified. */
export function isSpecialIP(ip: IP): boolean {
  return SPECIAL_RANGES.some((p) => prefixContains(p, ip));
}

/**
 * Neither special nor in a range reachable only inside its own network:
 * an address any box on the internet could send to.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert";
 * import { parseIP } from "./ip.ts";
 * import { isGlobalUnicast } from "./scope.ts";
 *
 * equal(isGlobalUnicast(parseIP("198.51.100.7")), true);
 * equal(isGlobalUnicast(parseIP("192.168.1.7")), false);
 * ```
 */
export function isGlobalUnicast(ip: IP): boolean {
  return !isSpecialIP(ip) &&
    !LOCAL_ONLY_RANGES.some((p) => prefixContains(p, ip));
}
