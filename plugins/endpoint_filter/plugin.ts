/**
 * The `endpoint-filter` plugin: filters the endpoints this node advertises
 * and the ones it accepts from peers.
 *
 * @module
 */
import { definePlugin } from "../../core/plugins/types.ts";
import { ipEqual, parseAddrPort } from "../../core/netaddr/ip.ts";
import { filterAddressText, filterIPs } from "./filter_ips.ts";

/**
 * `kubespan.filters.endpoints` on what this node advertises and
 * `kubespan.filters.peerEndpoints` on what peers send, as KubeSpan does.
 */
export const endpointFilterPlugin = definePlugin({
  name: "endpoint-filter",
  hooks: ["endpointFilter"],
  version: "1.0.0",
  description:
    "Applies kubespan.filters.endpoints and kubespan.filters.peerEndpoints",
  defaultEnabled: true,
  create(ctx) {
    let filters = ctx.config.kubespan.filters;
    return {
      endpointFilter: {
        advertised(addresses) {
          return filters.endpoints === undefined
            ? [...addresses]
            : filterAddressText(addresses, filters.endpoints);
        },
        accepted(endpoints) {
          const rules = filters.peerEndpoints;
          if (rules === undefined) return [...endpoints];
          // Keep the peer's order; drop endpoints whose IP the filters reject.
          const kept = endpoints.map((e) => ({ e, ip: parseAddrPort(e).ip }));
          const allowed = filterIPs(kept.map((k) => k.ip), rules);
          return kept
            .filter((k) => allowed.some((a) => ipEqual(a, k.ip)))
            .map((k) => k.e);
        },
      },
      reload(_options, config) {
        filters = config.kubespan.filters;
      },
    };
  },
});
