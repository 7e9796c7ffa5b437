/**
 * Merges the affiliates several discovery plugins report about one node into
 * one view (addresses, endpoints and sources united).
 *
 * @module
 */
import type { AffiliateSpec } from "../resources/specs.ts";

function union(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}

/**
 * Merges affiliates reported by several sources by node id, as KubeSpan
 * does: lists are unioned in first-seen order, scalars are overwritten by
 * later non-empty values.
 */
export function mergeAffiliates(
  lists: readonly (readonly AffiliateSpec[])[],
): AffiliateSpec[] {
  const byId = new Map<string, AffiliateSpec>();
  for (const list of lists) {
    for (const a of list) {
      const old = byId.get(a.nodeId);
      if (!old) {
        byId.set(a.nodeId, structuredClone(a));
        continue;
      }
      const merged: AffiliateSpec = {
        nodeId: a.nodeId,
        hostname: a.hostname || old.hostname,
        nodename: a.nodename || old.nodename,
        machineType: a.machineType || old.machineType,
        operatingSystem: a.operatingSystem || old.operatingSystem,
        addresses: union(old.addresses, a.addresses),
        sources: union(old.sources, a.sources),
      };
      const controlPlane = a.controlPlane ?? old.controlPlane;
      if (controlPlane) merged.controlPlane = { ...controlPlane };
      if (old.edgespan || a.edgespan) {
        const seen = new Set<string>();
        merged.edgespan = {
          advertised: union(
            old.edgespan?.advertised ?? [],
            a.edgespan?.advertised ?? [],
          ),
          observed: [
            ...(old.edgespan?.observed ?? []),
            ...(a.edgespan?.observed ?? []),
          ].filter((o) => {
            const key = `${o.affiliateID}|${o.endpoint}`;
            if (seen.has(key)) return false;
            seen.add(key);
            return true;
          }).map((o) => ({ ...o })),
        };
        const searching = new Map<string, number>();
        for (
          const s of [
            ...(old.edgespan?.searching ?? []),
            ...(a.edgespan?.searching ?? []),
          ]
        ) {
          const at = searching.get(s.affiliateID);
          if (at === undefined || s.since > at) {
            searching.set(s.affiliateID, s.since);
          }
        }
        if (searching.size) {
          merged.edgespan.searching = [...searching].map((
            [affiliateID, since],
          ) => ({ affiliateID, since }));
        }
        const relay = a.edgespan?.relay ?? old.edgespan?.relay;
        if (relay) merged.edgespan.relay = { ...relay };
      }
      const ks = old.kubespan ?? a.kubespan;
      if (ks) {
        const o = old.kubespan;
        const n = a.kubespan;
        merged.kubespan = {
          publicKey: n?.publicKey || o?.publicKey || "",
          address: n?.address || o?.address || "",
          additionalAddresses: union(
            o?.additionalAddresses ?? [],
            n?.additionalAddresses ?? [],
          ),
          endpoints: union(o?.endpoints ?? [], n?.endpoints ?? []),
          excludeAdvertisedNetworks: union(
            o?.excludeAdvertisedNetworks ?? [],
            n?.excludeAdvertisedNetworks ?? [],
          ),
        };
      }
      byId.set(a.nodeId, merged);
    }
  }
  return [...byId.values()].sort((
    x,
    y,
  ) => (x.nodeId < y.nodeId ? -1 : x.nodeId > y.nodeId ? 1 : 0));
}
