/** Test affiliates and a discovery client factory with fast retries. */
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { DiscoveryClient } from "../../../plugins/discovery_service/client.ts";
import {
  clusterKey,
  createClusterCipher,
} from "../../../plugins/discovery_service/crypto.ts";
import { KEY_B64 } from "./_harness.ts";

export function affiliate(n: number): AffiliateSpec {
  return {
    nodeId: `node-${n}`,
    hostname: `h${n}`,
    nodename: `h${n}`,
    machineType: "worker",
    operatingSystem: "edgespan",
    addresses: [`192.168.0.${n}`],
    kubespan: {
      publicKey: btoa(String.fromCharCode(...new Uint8Array(32).fill(n))),
      address: `fd00::${n}`,
      additionalAddresses: [],
      endpoints: [`192.168.0.${n}:51820`],
      excludeAdvertisedNetworks: [],
    },
    sources: ["local"],
  };
}

export function fastClient(
  port: number,
  n: number,
  extra: {
    secret?: string;
    harvest?: boolean;
    onChange?: () => void;
    warn?: (message: string, fields?: Record<string, unknown>) => void;
  } = {},
): DiscoveryClient {
  return new DiscoveryClient({
    url: `http://127.0.0.1:${port}`,
    clusterId: "test-cluster",
    nodeId: `node-${n}`,
    cipher: createClusterCipher(clusterKey(extra.secret ?? KEY_B64)),
    clientVersion: "test",
    source: "discovery-service",
    backoff: { initialMs: 50, multiplier: 1.5, jitter: 0.2, maxMs: 300 },
    harvest: extra.harvest ?? false,
    ...(extra.onChange ? { onChange: extra.onChange } : {}),
    ...(extra.warn ? { warn: extra.warn } : {}),
  });
}
