/**
 * Keeps discovery traffic out of the tunnel. KubeSpan routes every peer's
 * node addresses through WireGuard; when a discovery service runs on such an
 * address (a site box hosting it), a node that has just published itself
 * could never receive the answers that would let it build the tunnel. So the
 * service addresses are never marked, and neither are the replies of a
 * service hosted on this box.
 *
 * @module
 */
import type { EdgespanConfig } from "../config/types.ts";
import { splitHostPort } from "../config/validate.ts";
import { tryParseIP } from "../netaddr/ip.ts";

/** Resolves a host name to addresses; failures resolve to none. */
export type HostResolver = (host: string) => Promise<string[]>;

async function systemResolve(host: string): Promise<string[]> {
  const out: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      out.push(...await Deno.resolveDns(host, type));
    } catch { /* no such record, or no DNS: nothing to exclude */ }
  }
  return out;
}

/** Addresses of the configured discovery services (literal or resolved). */
export async function discoveryDestinations(
  config: EdgespanConfig,
  resolve: HostResolver = systemResolve,
): Promise<string[]> {
  const out = new Set<string>();
  for (const url of config.discovery.endpoints) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    if (tryParseIP(host)) out.add(host);
    else for (const a of await resolve(host)) out.add(a);
  }
  return [...out];
}

/** TCP port of a discovery service hosted on this box, if any. */
export function servedDiscoveryPorts(config: EdgespanConfig): number[] {
  return config.discovery.serve
    ? [splitHostPort(config.discovery.serve.listen).port]
    : [];
}
