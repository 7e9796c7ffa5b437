/**
 * Checks of single config strings (prefixes, filters, addresses, URLs, the
 * cluster secret), each returning the problem message or nothing, for
 * {@linkcode Reader.eachItem} and the section readers.
 *
 * @module
 */
import type { Reader } from "../reader.ts";
import { parseAddrPort, parsePrefix } from "../../netaddr/ip.ts";

/** A CIDR prefix or a bare IP address. */
export function prefixProblem(text: string): string | undefined {
  try {
    parsePrefix(text);
    return undefined;
  } catch {
    return `"${text}" is not a CIDR prefix or IP address`;
  }
}

/** A prefix optionally negated with `!`, as in KubeSpan's endpoint filters. */
export function filterProblem(text: string): string | undefined {
  const body = text.startsWith("!") ? text.slice(1) : text;
  return prefixProblem(body) &&
    `"${text}" is not a CIDR prefix or IP address (optionally prefixed with "!")`;
}

/** A literal `ip:port` (IPv6 in brackets). */
export function addrPortProblem(text: string): string | undefined {
  try {
    parseAddrPort(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A `host:port` listen address, the host a name or an address. */
export function hostPortProblem(text: string): string | undefined {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) {
    return `"${text}" is not host:port (write e.g. 127.0.0.1:7443 or [::1]:7443)`;
  }
  return undefined;
}

/** A discovery endpoint: an http, https or grpc URL with no path. */
export function discoveryUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL (write e.g. https://discovery.example.com/)`;
  }
  if (!["http:", "https:", "grpc:"].includes(url.protocol)) {
    return `scheme "${url.protocol.slice(0, -1)}" is not http, https or grpc`;
  }
  if (!url.hostname) return `"${text}" has no host`;
  if (url.pathname !== "" && url.pathname !== "/") {
    return `"${text}" has a path; a discovery endpoint is a host and port only`;
  }
  return undefined;
}

/** The cluster secret: standard base64 of exactly 32 bytes. */
export function secretProblem(secret: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || secret.length % 4 !== 0) {
    return "is not standard base64 (generate one with `edgespan gen config`)";
  }
  const bytes = atob(secret).length;
  if (bytes !== 32) {
    return `decodes to ${bytes} bytes; it must be exactly 32 (generate one with \`edgespan gen config\`)`;
  }
  return undefined;
}

/** A string list at `path` whose items must each pass `check`; `[]` when absent. */
export function checkedList(
  r: Reader,
  value: unknown,
  path: string,
  check: (item: string) => string | undefined,
): string[] {
  const items = r.stringList(value, path) ?? [];
  r.eachItem(items, path, check);
  return items;
}
