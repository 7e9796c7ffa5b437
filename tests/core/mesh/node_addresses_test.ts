import {
  compareNodePrefixes,
  type HostAddress,
  type HostLinkState,
  linkIsUp,
  selectNodeAddresses,
  selectNodePrefixes,
} from "../../../core/mesh/node_addresses.ts";
import { parsePrefix } from "../../../core/netaddr/ip.ts";
import { assertEquals } from "../../_tools/assert.ts";

const ETH_UP: HostLinkState = {
  operational: true,
  physical: true,
  carrier: true,
};
const ETH_NO_CARRIER: HostLinkState = { ...ETH_UP, carrier: false };

function on(
  link: string,
  state: HostLinkState,
  addresses: string[],
  scope: HostAddress["scope"] = "global",
): HostAddress[] {
  return addresses.map((address) => ({
    address,
    link,
    scope,
    linkState: state,
  }));
}

Deno.test("linkIsUp() needs operational state, and carrier on physical links", async (t) => {
  const cases: [HostLinkState, boolean][] = [
    [ETH_UP, true],
    [ETH_NO_CARRIER, false],
    [{ ...ETH_UP, operational: false }, false],
    // Virtual links (veth, bridge, wireguard) need no carrier, as in Talos.
    [{ operational: true, physical: false, carrier: false }, true],
    [{ operational: false, physical: false, carrier: true }, false],
  ];
  for (const [state, up] of cases) {
    await t.step(
      JSON.stringify(state),
      () => assertEquals(linkIsUp(state), up),
    );
  }
});

// Talos' NodeAddress controller test (TestFilters): eth0 up, eth1 without
// carrier; its "routed" list and the one filtered with no-k8s (10.0.0.0/8).
Deno.test("selectNodeAddresses() matches Talos' node addresses (golden vector)", () => {
  const host = [
    ...on("eth0", ETH_UP, [
      "10.0.0.1/8",
      "25.3.7.9/32",
      "2001:470:6d:30e:4a62:b3ba:180b:b5b8/64",
      "127.0.0.1/8",
      "fdae:41e4:649b:9303:7886:731d:1ce9:4d4/128", // SideroLink (byte 7 = 3)
    ]),
    ...on("eth1", ETH_NO_CARRIER, ["10.0.0.2/8", "192.168.3.7/24"]),
  ];
  assertEquals(selectNodeAddresses(host), [
    "10.0.0.1",
    "25.3.7.9",
    "2001:470:6d:30e:4a62:b3ba:180b:b5b8",
  ]);
  assertEquals(selectNodeAddresses(host, { excludedRanges: ["10.0.0.0/8"] }), [
    "25.3.7.9",
    "2001:470:6d:30e:4a62:b3ba:180b:b5b8",
  ]);
});

Deno.test("selectNodeAddresses() sorts by address across links, IPv4 first, and drops duplicates", () => {
  const host = [
    ...on("eth1", ETH_UP, ["192.168.1.20/24", "2001:db8::1/64"]),
    ...on("eth0", ETH_UP, ["172.20.0.2/16", "10.5.0.1/24", "192.168.1.20/32"]),
    ...on("wlan0", ETH_UP, ["192.168.1.3/24", "2001:db8::1:0/64"]),
  ];
  assertEquals(selectNodeAddresses(host), [
    "10.5.0.1",
    "172.20.0.2",
    "192.168.1.3",
    "192.168.1.20",
    "2001:db8::1",
    "2001:db8::1:0",
  ]);
});

Deno.test("selectNodeAddresses() drops link/host scope, link-local, multicast, excluded links and unparsable entries", () => {
  const host = [
    ...on("eth0", ETH_UP, ["192.0.2.10/24"]),
    ...on("eth0", ETH_UP, ["fe80::1/64"], "link"),
    ...on("eth0", ETH_UP, ["10.9.9.9/32"], "host"),
    ...on("eth0", ETH_UP, ["169.254.1.1/16", "ff02::1/128", "::1/128"]),
    ...on("eth0", ETH_UP, ["fc00:10::1/64"], "site"),
    ...on("kubespan", { ...ETH_UP, physical: false }, ["fd7f::1/64"]),
    ...on("eth0", ETH_UP, ["not-an-address"]),
    ...on("eth0", ETH_UP, ["198.51.100.7"]),
  ];
  assertEquals(selectNodeAddresses(host, { excludeLinks: ["kubespan"] }), [
    "192.0.2.10",
    "198.51.100.7",
    "fc00:10::1",
  ]);
});

Deno.test("selectNodeAddresses() keeps KubeSpan ULAs of other links but never SideroLink ones", () => {
  const host = on("eth0", ETH_UP, [
    "fd11:2233:4455:6602::7/64", // byte 7 = 0x02
    "fd11:2233:4455:6603::7/64", // byte 7 = 0x03 (SideroLink)
    "fd11:2233:4455:6604::7/64", // byte 7 = 0x04 (virtual SideroLink)
  ]);
  assertEquals(selectNodeAddresses(host), [
    "fd11:2233:4455:6602::7",
    "fd11:2233:4455:6604::7",
  ]);
});

Deno.test("compareNodePrefixes() orders by address, then prefix length", () => {
  const sorted = ["10.0.0.1/32", "2001:db8::1/64", "10.0.0.1/8", "9.9.9.9/32"]
    .map(parsePrefix).sort(compareNodePrefixes)
    .map((p) => `${p.bits}`);
  assertEquals(sorted, ["32", "8", "32", "64"]);
});

Deno.test("selectNodePrefixes() keeps the prefix lengths, in node address order (the subnets the box is on)", () => {
  const host = [
    ...on("eth1", ETH_UP, ["192.168.1.20/24", "2001:db8::1/64"]),
    ...on("eth0", ETH_UP, ["10.5.0.1/24", "192.168.1.20/32", "127.0.0.1/8"]),
    ...on("kubespan", { ...ETH_UP, physical: false }, ["fd7f::1/64"]),
    ...on("eth0", ETH_UP, ["198.51.100.7"]),
  ];
  const options = { excludeLinks: ["kubespan"] };
  assertEquals(selectNodePrefixes(host, options), [
    "10.5.0.1/24",
    "192.168.1.20/24",
    "198.51.100.7/32",
    "2001:db8::1/64",
  ]);
  assertEquals(
    selectNodePrefixes(host, options).map((p) => p.split("/")[0]),
    selectNodeAddresses(host, options),
  );
});
