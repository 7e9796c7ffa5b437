import { buildPeerSpecs } from "../../../core/mesh/peer_specs.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { assertEquals } from "../../_tools/assert.ts";

function affiliate(
  nodeId: string,
  ks: {
    address: string;
    additional?: string[];
    exclude?: string[];
    publicKey?: string;
  } | undefined,
  addresses: string[] = [],
): AffiliateSpec {
  return {
    nodeId,
    hostname: `host-${nodeId}`,
    nodename: `node-${nodeId}`,
    machineType: "edge",
    operatingSystem: "",
    addresses,
    ...(ks
      ? {
        kubespan: {
          publicKey: ks.publicKey ?? `key-${nodeId}`,
          address: ks.address,
          additionalAddresses: ks.additional ?? [],
          endpoints: [`${nodeId}.example:51820`],
          excludeAdvertisedNetworks: ks.exclude ?? [],
        },
      }
      : {}),
    sources: [],
  };
}

// Vectors from KubeSpan's peer spec tests (kubespan-facts.md §3).
Deno.test("buildPeerSpecs() computes allowed IPs with exclusions", () => {
  const { specs, warnings } = buildPeerSpecs({
    localNodeId: "local",
    affiliates: [
      affiliate("local", { address: "fd50:8d60:4238:6302::1" }),
      affiliate("a", {
        address: "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0",
        additional: ["10.244.3.1/24", "10.244.3.0/32"],
        exclude: ["10.244.3.128/25"],
      }, ["192.168.3.4"]),
      affiliate("b", {
        address: "fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d67",
        additional: ["10.244.4.1/24"],
      }, [
        "192.168.3.6",
      ]),
      affiliate("c", undefined, ["192.168.3.7"]),
    ],
  });
  assertEquals(warnings, []);
  assertEquals([...specs.keys()], ["key-a", "key-b"]);
  assertEquals(specs.get("key-a"), {
    address: "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0",
    allowedIPs: [
      "10.244.3.0/25",
      "192.168.3.4/32",
      "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0/128",
    ],
    endpoints: ["a.example:51820"],
    label: "node-a",
  });
  assertEquals(specs.get("key-b")!.allowedIPs, [
    "10.244.4.0/24",
    "192.168.3.6/32",
    "fdc8:8aee:4e2d:1202:f073:9cff:fe6c:4d67/128",
  ]);
});

Deno.test("buildPeerSpecs() removes overlaps from the later affiliate id with a warning", () => {
  const { specs, warnings } = buildPeerSpecs({
    localNodeId: "local",
    affiliates: [
      affiliate("b", {
        address: "fd50:8d60:4238:6302:f857:23ff:fe21:d1e1",
        additional: ["10.244.2.0/23", "192.168.3.0/24"],
      }),
      affiliate("a", {
        address: "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0",
        additional: ["10.244.3.1/24"],
      }),
    ],
  });
  assertEquals(specs.get("key-a")!.allowedIPs, [
    "10.244.3.0/24",
    "fd50:8d60:4238:6302:f857:23ff:fe21:d1e0/128",
  ]);
  assertEquals(specs.get("key-b")!.allowedIPs, [
    "10.244.2.0/24",
    "192.168.3.0/24",
    "fd50:8d60:4238:6302:f857:23ff:fe21:d1e1/128",
  ]);
  assertEquals(warnings, [{
    nodeId: "b",
    publicKey: "key-b",
    removed: ["10.244.3.0/24"],
  }]);
});

Deno.test("buildPeerSpecs() cannot exclude the mesh address and applies the accept filter", () => {
  const { specs } = buildPeerSpecs({
    localNodeId: "local",
    affiliates: [
      affiliate("a", { address: "fd00::a", exclude: ["::/0"] }, ["10.0.0.1"]),
    ],
    acceptEndpoints: (e, peer) => e.map((x) => `${peer.label}|${x}`),
  });
  assertEquals(specs.get("key-a")!.allowedIPs, ["10.0.0.1/32", "fd00::a/128"]);
  assertEquals(specs.get("key-a")!.endpoints, ["node-a|a.example:51820"]);
});

Deno.test("buildPeerSpecs() drops an affiliate whose KubeSpan data vanished", () => {
  const before = [
    affiliate("a", { address: "fd00::a", additional: ["10.244.0.0/16"] }),
    affiliate("b", { address: "fd00::b", additional: ["10.244.3.0/24"] }),
  ];
  const first = buildPeerSpecs({ localNodeId: "local", affiliates: before });
  assertEquals([...first.specs.keys()], ["key-a", "key-b"]);
  assertEquals(first.specs.get("key-b")?.allowedIPs, ["fd00::b/128"]);
  // a now runs with kubespan disabled and publishes node data only.
  const after = [affiliate("a", undefined, ["192.0.2.1"]), before[1]!];
  const second = buildPeerSpecs({ localNodeId: "local", affiliates: after });
  assertEquals([...second.specs.keys()], ["key-b"]);
  assertEquals(
    second.specs.get("key-b")?.allowedIPs,
    ["10.244.3.0/24", "fd00::b/128"],
    "its ranges no longer block the next peer",
  );
  assertEquals(second.warnings, []);
});
