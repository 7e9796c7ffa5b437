/** Discovery for agent tests: hooks, and one remote affiliate. */
import type { DiscoveryHooks } from "../../core/plugins/types.ts";
import type { AffiliateSpec } from "../../core/resources/specs.ts";

/** A remote box (edge-b) with a KubeSpan identity and one endpoint. */
export const REMOTE: AffiliateSpec = {
  nodeId: "remote-1",
  hostname: "edge-b",
  nodename: "edge-b",
  machineType: "edge",
  operatingSystem: "edgespan",
  addresses: ["192.0.2.20"],
  kubespan: {
    publicKey: "THtfKtfNnzJs1nMQKs5IXqK0DFXmM//0WMY+NnaZrhU=",
    address: "fd7f:175a:b97c:5602::20",
    additionalAddresses: [],
    endpoints: ["192.0.2.20:51820"],
    excludeAdvertisedNetworks: [],
  },
  sources: [],
};

/** Connected discovery hooks with no remote affiliates, unless overridden. */
export function discoveryHooks(
  over: Partial<DiscoveryHooks> = {},
): DiscoveryHooks {
  return {
    publish: () => Promise.resolve(),
    affiliates: () => [],
    publicAddresses: () => [],
    leave: () => Promise.resolve(),
    health: () => ({ state: "connected", detail: "" }),
    ...over,
  };
}
