/**
 * Merges affiliates reported by several services by node id: lists are
 * unioned in first-seen order, later non-empty scalars win.
 *
 * @module
 */
import type { AffiliateSpec } from "../../core/resources/specs.ts";

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Merges affiliate lists by node id. */
export function mergeAffiliates(
  lists: readonly (readonly AffiliateSpec[])[],
): AffiliateSpec[] {
  const out = new Map<string, AffiliateSpec>();
  for (const list of lists) {
    for (const a of list) {
      const prev = out.get(a.nodeId);
      if (!prev) {
        out.set(a.nodeId, structuredClone(a));
        continue;
      }
      prev.hostname = a.hostname || prev.hostname;
      prev.nodename = a.nodename || prev.nodename;
      prev.machineType = a.machineType || prev.machineType;
      prev.operatingSystem = a.operatingSystem || prev.operatingSystem;
      prev.addresses = union(prev.addresses, a.addresses);
      prev.sources = union(prev.sources, a.sources);
      if (a.kubespan && prev.kubespan) {
        const k = prev.kubespan;
        k.publicKey = a.kubespan.publicKey || k.publicKey;
        k.address = a.kubespan.address || k.address;
        k.endpoints = union(k.endpoints, a.kubespan.endpoints);
        k.additionalAddresses = union(
          k.additionalAddresses,
          a.kubespan.additionalAddresses,
        );
        k.excludeAdvertisedNetworks = union(
          k.excludeAdvertisedNetworks,
          a.kubespan.excludeAdvertisedNetworks,
        );
      } else if (a.kubespan) {
        prev.kubespan = structuredClone(a.kubespan);
      }
    }
  }
  return [...out.values()];
}
