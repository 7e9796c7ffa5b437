/**
 * The `route-advertisement` plugin: the networks this node advertises to
 * its peers (its site LAN, optionally pod networks).
 *
 * @module
 */
import type { EdgespanConfig } from "../../core/config/types.ts";
import {
  formatPrefix,
  maskPrefix,
  parsePrefix,
} from "../../core/netaddr/ip.ts";
import { definePlugin } from "../../core/plugins/types.ts";

/**
 * Networks a box routes for the mesh: its site LAN prefixes, plus its pod
 * CIDRs only when `kubespan.advertiseKubernetesNetworks` is on. Prefixes are
 * masked (`10.244.3.1/24` → `10.244.3.0/24`) and de-duplicated.
 */
export function advertisedNetworks(config: EdgespanConfig): string[] {
  const raw = [
    ...config.advertise.networks,
    ...(config.kubespan.advertiseKubernetesNetworks
      ? config.advertise.kubernetesNetworks
      : []),
  ];
  return [...new Set(raw.map((p) => formatPrefix(maskPrefix(parsePrefix(p)))))];
}

/** Advertises the site networks from the config. */
export const routeAdvertisementPlugin = definePlugin({
  name: "route-advertisement",
  hooks: ["routeAdvertisement"],
  version: "1.0.0",
  description:
    "Advertises advertise.networks (and pod CIDRs with advertiseKubernetesNetworks)",
  defaultEnabled: true,
  create(ctx) {
    let networks = advertisedNetworks(ctx.config);
    return {
      routeAdvertisement: { advertise: () => [...networks] },
      reload(_options, config) {
        networks = advertisedNetworks(config);
      },
    };
  },
});
