/**
 * KubeSpan's endpoint filter rules (`10.0.0.0/8`, `!192.168.0.0/16`, …)
 * applied to address lists.
 *
 * @module
 */
import {
  formatIP,
  type IP,
  ipEqual,
  parseIP,
  parsePrefix,
  prefixContains,
} from "../../core/netaddr/ip.ts";

/**
 * Applies KubeSpan's endpoint filter list to addresses. Filters are walked in
 * order: a plain prefix (or bare IP) appends every matching address not yet
 * in the result, in the order the addresses were given; a `!`-prefixed one removes matching
 * addresses already in the result. The output order therefore follows filter
 * order, then input order.
 *
 * @throws {SyntaxError} for a filter that is not a prefix or address
 */
export function filterIPs(
  addresses: readonly IP[],
  filters: readonly string[],
): IP[] {
  let result: IP[] = [];
  for (const filter of filters) {
    const exclude = filter.startsWith("!");
    const prefix = parsePrefix(exclude ? filter.slice(1) : filter);
    if (exclude) {
      result = result.filter((ip) => !prefixContains(prefix, ip));
      continue;
    }
    for (const ip of addresses) {
      if (prefixContains(prefix, ip) && !result.some((r) => ipEqual(r, ip))) {
        result.push(ip);
      }
    }
  }
  return result;
}

/** {@linkcode filterIPs} over address text. */
export function filterAddressText(
  addresses: readonly string[],
  filters: readonly string[],
): string[] {
  return filterIPs(addresses.map(parseIP), filters).map(formatIP);
}
