import {
  buildLocalAffiliate,
  type LocalAffiliateInput,
} from "../../../core/mesh/local_affiliate.ts";
import { mergeAffiliates } from "../../../core/mesh/merge.ts";
import { filterAddressText } from "../../../plugins/endpoint_filter/filter_ips.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { assertEquals } from "../../_tools/assert.ts";

function input(over: Partial<LocalAffiliateInput> = {}): LocalAffiliateInput {
  return {
    nodeId: "node-a",
    hostname: "edge-a",
    kubespanEnabled: true,
    publicKey: "PUB",
    meshAddress: "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169",
    nodeAddresses: [],
    publicAddresses: [],
    excludedRanges: [],
    filterEndpoints: (a) => a,
    listenPort: 51820,
    extraAnnouncedEndpoints: [],
    advertisedNetworks: [],
    excludeAdvertisedNetworks: [],
    operatingSystem: "edgespan (test)",
    ...over,
  };
}

// KubeSpan's own vector (kubespan-facts.md §2.2).
Deno.test("buildLocalAffiliate() orders endpoints as KubeSpan does", () => {
  const filters = ["0.0.0.0/0", "!192.168.0.0/16", "2001::/16"];
  const a = buildLocalAffiliate(input({
    nodeAddresses: [
      "172.20.0.2",
      "10.5.0.1",
      "192.168.192.168",
      "2001:123:4567::1",
      "fd7f:175a:b97c:5603:2c1a:b6ff:fe53:8169", // SideroLink ULA
      "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169", // own mesh address
    ],
    publicAddresses: ["1.1.1.1", "2001:123:4567::1"],
    filterEndpoints: (addrs) => filterAddressText(addrs, filters),
    extraAnnouncedEndpoints: ["10.5.0.1:51820", "1.2.3.4:5678"],
  }));
  assertEquals(a.kubespan?.endpoints, [
    "172.20.0.2:51820",
    "10.5.0.1:51820",
    "1.1.1.1:51820",
    "[2001:123:4567::1]:51820",
    "1.2.3.4:5678",
  ]);
  assertEquals(
    a.addresses.includes("fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169"),
    false,
  );
});

Deno.test("buildLocalAffiliate() with kubespan disabled publishes no KubeSpan block", () => {
  const a = buildLocalAffiliate(input({
    kubespanEnabled: false,
    nodeAddresses: ["192.0.2.10", "2001:db8::10"],
    publicAddresses: ["203.0.113.7"],
    extraAnnouncedEndpoints: ["198.51.100.1:5000"],
    advertisedNetworks: ["192.168.10.0/24"],
    excludeAdvertisedNetworks: ["192.168.10.128/25"],
  }));
  assertEquals(a.kubespan, undefined);
  assertEquals("kubespan" in a, false, "no empty block either");
  assertEquals(a.addresses, ["192.0.2.10", "2001:db8::10"]);
  assertEquals([a.nodeId, a.hostname], ["node-a", "edge-a"]);
});

Deno.test("buildLocalAffiliate() drops only its own mesh address from endpoints, not other KubeSpan ULAs", () => {
  const otherCluster = "fd11:2233:4455:6602::7"; // byte 7 = 0x02, another /64
  const a = buildLocalAffiliate(input({
    nodeAddresses: [
      "192.0.2.10",
      otherCluster,
      "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169",
    ],
  }));
  assertEquals(a.kubespan?.endpoints, [
    "192.0.2.10:51820",
    `[${otherCluster}]:51820`,
  ]);
  assertEquals(a.addresses, ["192.0.2.10", otherCluster]);
});

Deno.test("buildLocalAffiliate() drops excluded ranges and uses the configured port", () => {
  const a = buildLocalAffiliate(input({
    nodeAddresses: ["10.244.1.7", "192.0.2.10"],
    excludedRanges: ["10.244.0.0/16"],
    listenPort: 51999,
    advertisedNetworks: ["192.168.10.0/24"],
  }));
  assertEquals(a.addresses, ["192.0.2.10"]);
  assertEquals(a.kubespan?.endpoints, ["192.0.2.10:51999"]);
  assertEquals(a.kubespan?.additionalAddresses, ["192.168.10.0/24"]);
});

Deno.test("buildLocalAffiliate() with an empty filter list advertises extras only", () => {
  const a = buildLocalAffiliate(input({
    nodeAddresses: ["192.0.2.10"],
    filterEndpoints: (addrs) => filterAddressText(addrs, []),
    extraAnnouncedEndpoints: ["[2001:db8::1]:443"],
  }));
  assertEquals(a.kubespan?.endpoints, ["[2001:db8::1]:443"]);
});

Deno.test("mergeAffiliates() unions lists in first-seen order and overwrites scalars", () => {
  const base: AffiliateSpec = {
    nodeId: "n1",
    hostname: "a",
    nodename: "a",
    machineType: "",
    operatingSystem: "",
    addresses: ["10.0.0.1"],
    kubespan: {
      publicKey: "K",
      address: "fd00::1",
      additionalAddresses: [],
      endpoints: ["10.0.0.1:51820"],
      excludeAdvertisedNetworks: [],
    },
    sources: ["discovery-service"],
  };
  const other: AffiliateSpec = {
    ...base,
    hostname: "",
    machineType: "edge",
    addresses: ["10.0.0.2", "10.0.0.1"],
    kubespan: {
      ...base.kubespan!,
      endpoints: ["10.0.0.2:51820", "10.0.0.1:51820"],
    },
    sources: ["discovery-static"],
  };
  const [m] = mergeAffiliates([[base], [other, {
    ...base,
    nodeId: "n0",
    sources: ["x"],
  }]]).filter((a) => a.nodeId === "n1");
  assertEquals(m!.hostname, "a");
  assertEquals(m!.machineType, "edge");
  assertEquals(m!.addresses, ["10.0.0.1", "10.0.0.2"]);
  assertEquals(m!.kubespan!.endpoints, ["10.0.0.1:51820", "10.0.0.2:51820"]);
  assertEquals(m!.sources, ["discovery-service", "discovery-static"]);
  assertEquals(
    mergeAffiliates([[base], [{ ...base, nodeId: "n0" }]]).map((a) => a.nodeId),
    ["n0", "n1"],
  );
});

Deno.test("buildLocalAffiliate() appends plugins' endpoints after every own one, once, within 64", () => {
  const a = buildLocalAffiliate(input({
    nodeAddresses: ["10.1.0.12"],
    publicAddresses: ["198.51.100.11"],
    extraAnnouncedEndpoints: ["203.0.113.5:4000"],
    // A plugin that tries to put its mapping first and repeat an own one.
    appendEndpoints: (own) => [
      "198.51.100.11:1024",
      ...[...own].reverse(),
      "not an endpoint",
      "198.51.100.11:1024",
    ],
  }));
  assertEquals(a.kubespan!.endpoints, [
    "10.1.0.12:51820",
    "198.51.100.11:51820",
    "203.0.113.5:4000",
    "198.51.100.11:1024",
  ]);
  const extras = Array.from({ length: 62 }, (_, i) => `10.9.0.${i + 1}:1`);
  const full = buildLocalAffiliate(input({
    nodeAddresses: ["10.1.0.12"],
    extraAnnouncedEndpoints: extras,
    appendEndpoints: () => ["198.51.100.11:1024", "198.51.100.11:2048"],
  }));
  assertEquals(full.kubespan!.endpoints.length, 64);
  assertEquals(full.kubespan!.endpoints.at(-1), "198.51.100.11:1024");
});
