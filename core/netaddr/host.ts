/**
 * Host names and `host:port` texts as written in config (`api.listen`,
 * `discovery.serve.listen`): loopback checks and splitting off the port.
 *
 * @module
 */
import { tryParseIP } from "./ip.ts";

/**
 * Whether a host (name, address, or bracketed IPv6) is loopback:
 * `localhost`, 127.0.0.0/8, `::1`, or an IPv4-mapped 127.x address.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  const ip = tryParseIP(bare);
  if (!ip) return false;
  if (ip.family === 4) return ip.bytes[0] === 127;
  const b = ip.bytes;
  const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff &&
    b[11] === 0xff;
  if (mapped) return b[12] === 127;
  return b.every((x, i) => (i === 15 ? x === 1 : x === 0));
}

/** Splits `host:port` into its parts (brackets kept off IPv6 hosts). */
export function splitHostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  return {
    host: text.slice(0, colon).replace(/^\[|\]$/g, ""),
    port: Number(text.slice(colon + 1)),
  };
}
