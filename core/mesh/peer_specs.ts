/**
 * Peer specs from affiliates, as KubeSpan builds them: allowed IPs are the
 * peer's advertised networks and node addresses, minus what it asks to be
 * excluded, plus its mesh /128; overlaps with peers earlier in affiliate-id
 * order are removed from the later peer with a warning.
 *
 * @module
 */
import { IPSet } from "../netaddr/ipset.ts";
import type { AffiliateSpec, PeerSpecSpec } from "../resources/specs.ts";

/** A warning produced while building specs. */
export interface PeerSpecWarning {
  nodeId: string;
  publicKey: string;
  /** Prefixes taken away from this peer because an earlier peer has them. */
  removed: string[];
}

/** Inputs of {@linkcode buildPeerSpecs}. */
export interface PeerSpecInput {
  /** Merged affiliates (the local one may be among them; it is skipped). */
  affiliates: readonly AffiliateSpec[];
  localNodeId: string;
  /** Accept-side endpoint filter. @default keep all */
  acceptEndpoints?: (
    endpoints: readonly string[],
    peer: { publicKey: string; label: string },
  ) => string[];
}

/** Result of {@linkcode buildPeerSpecs}: specs by public key, plus overlap warnings. */
export interface PeerSpecResult {
  specs: Map<string, PeerSpecSpec>;
  warnings: PeerSpecWarning[];
}

/** Builds peer specs. Pure. */
export function buildPeerSpecs(input: PeerSpecInput): PeerSpecResult {
  const specs = new Map<string, PeerSpecSpec>();
  const warnings: PeerSpecWarning[] = [];
  let taken = IPSet.empty();
  const sorted = [...input.affiliates].sort((
    a,
    b,
  ) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  for (const a of sorted) {
    const ks = a.kubespan;
    if (a.nodeId === input.localNodeId || !ks || !ks.publicKey) continue;
    let set = IPSet.of([...ks.additionalAddresses, ...a.addresses])
      .subtract(IPSet.of(ks.excludeAdvertisedNetworks));
    if (ks.address) set = set.union(IPSet.of([ks.address]));
    const overlap = set.intersect(taken);
    if (!overlap.isEmpty()) {
      warnings.push({
        nodeId: a.nodeId,
        publicKey: ks.publicKey,
        removed: overlap.toStrings(),
      });
      set = set.subtract(overlap);
    }
    taken = taken.union(set);
    const label = a.nodename || a.hostname;
    const endpoints = input.acceptEndpoints
      ? input.acceptEndpoints(ks.endpoints, { publicKey: ks.publicKey, label })
      : [...ks.endpoints];
    specs.set(ks.publicKey, {
      address: ks.address,
      allowedIPs: set.toStrings(),
      endpoints,
      label,
    });
  }
  return { specs, warnings };
}
