import { filterAddressText } from "../../plugins/endpoint_filter/filter_ips.ts";
import { nextEndpoint } from "../../plugins/peer_selection/endpoint_cycling.ts";
import { forcedPeers } from "../../plugins/down_peer_bypass/plugin.ts";
import { advertisedNetworks } from "../../plugins/route_advertisement/plugin.ts";
import { validateConfig } from "../../core/config/validate.ts";
import type { PeerState } from "../../core/resources/specs.ts";
import { assert, assertEquals, assertThrows } from "../_tools/assert.ts";

// Vectors from siderolabs/net's FilterIPs tests (kubespan-facts.md §2.2).
Deno.test("filterAddressText() applies filters in order with ! exclusions", () => {
  assertEquals(
    filterAddressText(["10.3.4.6", "10.3.4.1", "172.20.0.1"], [
      "10.0.0.0/8",
      "!10.3.4.1",
    ]),
    ["10.3.4.6"],
  );
  assertEquals(
    filterAddressText(["10.3.4.6", "172.20.0.1"], ["10.0.0.0/8", "0.0.0.0/0"]),
    ["10.3.4.6", "172.20.0.1"],
  );
  assertEquals(
    filterAddressText(["172.20.0.1", "10.0.0.1"], [
      "172.20.0.0/16",
      "10.0.0.0/8",
    ]),
    ["172.20.0.1", "10.0.0.1"],
  );
  assertEquals(filterAddressText(["10.0.0.1"], []), []);
  assertEquals(
    filterAddressText(["10.0.0.1", "2001:db8::1"], ["2001:db8::1"]),
    ["2001:db8::1"],
  );
  assertThrows(() => filterAddressText(["10.0.0.1"], ["bogus"]), SyntaxError);
});

function status(
  state: PeerState,
  lastUsedEndpoint: string,
  endpoint = lastUsedEndpoint,
) {
  return { state, lastUsedEndpoint, endpoint };
}

// Sequence from KubeSpan's peer status tests (kubespan-facts.md §4.4).
Deno.test("nextEndpoint() cycles endpoints in list order", () => {
  const spec = { endpoints: ["10.3.4.5:10500", "192.168.3.8:457"] };
  assertEquals(nextEndpoint(status("unknown", ""), spec), "10.3.4.5:10500");
  assertEquals(
    nextEndpoint(status("down", "10.3.4.5:10500"), spec),
    "192.168.3.8:457",
  );
  assertEquals(
    nextEndpoint(status("down", "192.168.3.8:457"), spec),
    "10.3.4.5:10500",
  );
  assertEquals(
    nextEndpoint(status("up", "192.168.3.8:457"), spec),
    undefined,
    "an up peer keeps its endpoint",
  );
  assertEquals(
    nextEndpoint(status("unknown", "10.3.4.5:10500"), spec),
    undefined,
    "unknown waits for the timeout",
  );
  assertEquals(
    nextEndpoint(status("down", "10.3.4.5:10500"), {
      endpoints: ["10.3.4.5:10500"],
    }),
    undefined,
  );
  assertEquals(
    nextEndpoint(status("down", "10.3.4.5:10500", "1.1.1.1:1"), {
      endpoints: ["10.3.4.5:10500"],
    }),
    "10.3.4.5:10500",
  );
  assertEquals(
    nextEndpoint(status("down", "10.3.4.5:10500"), {
      endpoints: ["1.2.3.4:1", "5.6.7.8:2"],
    }),
    "1.2.3.4:1",
  );
  assertEquals(nextEndpoint(status("down", "x"), { endpoints: [] }), undefined);
});

Deno.test("forcedPeers() forces every peer unless bypass is allowed", () => {
  const peers = (["up", "down", "unknown"] as const).map((state, i) => ({
    publicKey: `k${i}`,
    spec: { address: "", allowedIPs: [], endpoints: [], label: "" },
    status: { state } as never,
  }));
  const noStatus = { publicKey: "k3", spec: peers[0]!.spec, status: undefined };
  assertEquals([...forcedPeers([...peers, noStatus], false)], [
    "k0",
    "k1",
    "k2",
    "k3",
  ]);
  assertEquals([...forcedPeers([...peers, noStatus], true)], ["k0"]);
});

Deno.test("advertisedNetworks() masks, de-duplicates and gates pod CIDRs", () => {
  const mk = (advertiseKubernetesNetworks: boolean) => {
    const r = validateConfig({
      cluster: {
        id: "x",
        secret: "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=",
      },
      kubespan: { advertiseKubernetesNetworks },
      advertise: {
        networks: ["192.168.10.1/24", "192.168.10.0/24"],
        kubernetesNetworks: ["10.244.1.0/24"],
      },
    });
    assert(r.ok);
    return r.config;
  };
  assertEquals(advertisedNetworks(mk(false)), ["192.168.10.0/24"]);
  assertEquals(advertisedNetworks(mk(true)), [
    "192.168.10.0/24",
    "10.244.1.0/24",
  ]);
});
