/**
 * The `kubespan` section: the switch, MTU, endpoint filters and the
 * KubeSpan booleans, with KubeSpan's defaults.
 *
 * @module
 */
import {
  DEFAULT_MTU,
  type KubeSpanConfig,
  type KubeSpanFilters,
  MIN_MTU,
} from "../types.ts";
import type { Reader } from "../reader.ts";
import {
  addrPortProblem,
  checkedList,
  filterProblem,
  prefixProblem,
} from "./_checks.ts";

const KEYS = [
  "enabled",
  "mtu",
  "allowDownPeerBypass",
  "advertiseKubernetesNetworks",
  "harvestExtraEndpoints",
  "filters",
  "extraAnnouncedEndpoints",
] as const;

const FILTER_KEYS = [
  "endpoints",
  "peerEndpoints",
  "excludeAdvertisedNetworks",
] as const;

/** Reads `kubespan`; `mtu: 0` means the default, as in KubeSpan. */
export function readKubeSpan(r: Reader, raw: unknown): KubeSpanConfig {
  const ks = r.map(raw, "kubespan", KEYS);
  let mtu = DEFAULT_MTU;
  if (ks.mtu !== 0) {
    mtu = r.int(ks.mtu, "kubespan.mtu", DEFAULT_MTU, {
      min: MIN_MTU,
      max: 65535,
    });
  }
  const filters = readFilters(r, ks.filters);
  const enabled = r.bool(ks.enabled, "kubespan.enabled", true);
  const allowDownPeerBypass = r.bool(
    ks.allowDownPeerBypass,
    "kubespan.allowDownPeerBypass",
    false,
  );
  const advertiseKubernetesNetworks = r.bool(
    ks.advertiseKubernetesNetworks,
    "kubespan.advertiseKubernetesNetworks",
    false,
  );
  const harvestExtraEndpoints = r.bool(
    ks.harvestExtraEndpoints,
    "kubespan.harvestExtraEndpoints",
    false,
  );
  const extraAnnouncedEndpoints = checkedList(
    r,
    ks.extraAnnouncedEndpoints,
    "kubespan.extraAnnouncedEndpoints",
    addrPortProblem,
  );
  return {
    enabled,
    mtu,
    allowDownPeerBypass,
    advertiseKubernetesNetworks,
    harvestExtraEndpoints,
    filters,
    extraAnnouncedEndpoints,
  };
}

/** `kubespan.filters`: an absent endpoint filter list means "no filter". */
function readFilters(r: Reader, raw: unknown): KubeSpanFilters {
  const f = r.map(raw, "kubespan.filters", FILTER_KEYS);
  const filters: KubeSpanFilters = { excludeAdvertisedNetworks: [] };
  const endpoints = r.stringList(f.endpoints, "kubespan.filters.endpoints");
  r.eachItem(endpoints, "kubespan.filters.endpoints", filterProblem);
  if (endpoints) filters.endpoints = endpoints;
  const peerEndpoints = r.stringList(
    f.peerEndpoints,
    "kubespan.filters.peerEndpoints",
  );
  r.eachItem(peerEndpoints, "kubespan.filters.peerEndpoints", filterProblem);
  if (peerEndpoints) filters.peerEndpoints = peerEndpoints;
  filters.excludeAdvertisedNetworks = checkedList(
    r,
    f.excludeAdvertisedNetworks,
    "kubespan.filters.excludeAdvertisedNetworks",
    prefixProblem,
  );
  return filters;
}
