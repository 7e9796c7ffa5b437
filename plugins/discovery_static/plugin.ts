/**
 * The `discovery-static` plugin: peers listed in the site config, reported
 * as affiliates without a discovery service.
 *
 * @module
 */
import { definePlugin } from "../../core/plugins/types.ts";
import type { AffiliateSpec } from "../../core/resources/specs.ts";
import {
  parseStaticOptions,
  type StaticDiscoveryOptions,
  type StaticPeer,
} from "./options.ts";

/** The affiliate a static peer stands for. */
export function staticAffiliate(
  peer: StaticPeer,
  source: string,
): AffiliateSpec {
  return {
    nodeId: peer.nodeId ?? `static-${peer.publicKey}`,
    hostname: peer.hostname ?? "",
    nodename: peer.hostname ?? "",
    machineType: "",
    operatingSystem: "",
    addresses: [peer.address],
    kubespan: {
      publicKey: peer.publicKey,
      address: peer.address,
      additionalAddresses: [...peer.networks],
      endpoints: [...peer.endpoints],
      excludeAdvertisedNetworks: [],
    },
    sources: [source],
  };
}

/** Peers listed in the site config, for sites without a discovery service. */
export const discoveryStaticPlugin = definePlugin<
  "discovery",
  StaticDiscoveryOptions
>({
  name: "discovery-static",
  hooks: ["discovery"],
  version: "1.0.0",
  description: "Peers listed in the site config (no discovery service)",
  defaultEnabled: false,
  parseOptions: parseStaticOptions,
  create(ctx, options) {
    let peers = options.peers;
    return {
      discovery: {
        publish: () => Promise.resolve(),
        affiliates: () =>
          peers
            .filter((p) => p.publicKey !== ctx.identity.spec.publicKey)
            .map((p) => staticAffiliate(p, ctx.pluginName)),
        publicAddresses: () => [],
        health: () => ({
          state: "static",
          detail: `${peers.length} peers from config`,
        }),
      },
      reload(next) {
        peers = next.peers;
        ctx.requestReconcile("static peers changed");
      },
    };
  },
});
