/**
 * Keeps discovery traffic out of the tunnel. KubeSpan routes every peer's
 * node addresses through WireGuard; when a discovery service runs on such an
 * address (a site box hosting it), a node that has just published itself
 * could never receive the answers that would let it build the tunnel. So the
 * service addresses are never marked (this file), and neither are the
 * replies of a service hosted on this box (`embedded.ts`).
 *
 * @module
 */
import { tryParseIP } from "../../core/netaddr/ip.ts";
import type { DiscoveryTarget } from "./target.ts";

/** Resolves a host name to addresses; failures resolve to none. */
export type HostResolver = (host: string) => Promise<string[]>;

/** Resolves A and AAAA records with the system's DNS. */
export async function systemResolve(host: string): Promise<string[]> {
  const out: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      out.push(...await Deno.resolveDns(host, type));
    } catch { /* no such record, or no DNS: nothing to exclude */ }
  }
  return out;
}

/** Addresses of the discovery services (literal, or resolved), in order, once each. */
export async function bypassDestinations(
  targets: readonly Pick<DiscoveryTarget, "host">[],
  resolve: HostResolver = systemResolve,
): Promise<string[]> {
  const out = new Set<string>();
  for (const { host } of targets) {
    if (tryParseIP(host)) out.add(host);
    else for (const a of await resolve(host)) out.add(a);
  }
  return [...out];
}
