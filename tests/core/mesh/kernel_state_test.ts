import {
  desiredKernelState,
  observedEndpoints,
} from "../../../core/mesh/kernel_state.ts";
import { parsePrefix } from "../../../core/netaddr/ip.ts";
import { assertEquals } from "../../_tools/assert.ts";

Deno.test("desiredKernelState() matches KubeSpan's routing and clamps MSS", () => {
  const s = desiredKernelState({
    linkName: "kubespan",
    mtu: 1420,
    listenPort: 51820,
    address: parsePrefix("fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/128"),
    subnet: parsePrefix("fd7f:175a:b97c:5602::/64"),
    routedPrefixes: [
      "10.0.0.2/32",
      "fd7f:175a:b97c:5602::2/128",
      "192.168.10.0/24",
      "2001:db8::/64",
      "10.0.0.3/32",
    ],
  });
  assertEquals(s.address, "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/64");
  assertEquals(s.link, {
    name: "kubespan",
    mtu: 1420,
    listenPort: 51820,
    firewallMark: 0x20,
  });
  assertEquals(
    s.routes.map((r) =>
      `${r.destination} table ${r.table} metric ${r.metric} mtu ${r.mtu} dev ${r.device} scope ${r.scope}`
    ),
    [
      "0.0.0.0/0 table 180 metric 1 mtu 1420 dev kubespan scope global",
      "::/0 table 180 metric 1 mtu 1420 dev kubespan scope global",
    ],
    "KubeSpan's table-180 routes have scope global",
  );
  assertEquals(
    s.rules.map((r) =>
      `${r.family} fwmark 0x${r.fwmark.toString(16)}/0x${
        r.fwmask.toString(16)
      } lookup ${r.table} prio ${r.priority}`
    ),
    [
      "4 fwmark 0x40/0x60 lookup 180 prio 32500",
      "6 fwmark 0x40/0x60 lookup 180 prio 32500",
    ],
  );
  assertEquals(s.nft.routedIPv4, ["10.0.0.2/31", "192.168.10.0/24"]);
  assertEquals(
    s.nft.routedIPv6,
    ["2001:db8::/64"],
    "the cluster ULA is never marked",
  );
  assertEquals([s.nft.mssIPv4, s.nft.mssIPv6], [1368, 1348]);
});

Deno.test("observedEndpoints() keeps up peers with a live endpoint and a known affiliate", () => {
  const out = observedEndpoints(
    new Map([
      ["a", { state: "up", endpoint: "192.0.2.1:51820" }],
      ["b", { state: "down", endpoint: "192.0.2.2:51820" }],
      ["c", { state: "up", endpoint: "" }],
      ["d", { state: "up", endpoint: "192.0.2.4:51820" }],
    ]),
    (k) => (k === "d" ? undefined : `node-${k}`),
  );
  assertEquals([...out], [["a", {
    affiliateID: "node-a",
    endpoint: "192.0.2.1:51820",
  }]]);
});

Deno.test("desiredKernelState() never marks discovery destinations", () => {
  const s = desiredKernelState({
    linkName: "kubespan",
    mtu: 1420,
    listenPort: 51820,
    address: parsePrefix("fd00::1/128"),
    subnet: parsePrefix("fd00::/64"),
    routedPrefixes: ["10.99.0.1/32", "10.99.0.2/32", "10.100.1.0/24"],
    neverRouted: ["10.99.0.1"],
    bypassTcpSourcePorts: [3000],
  });
  assertEquals(s.nft.routedIPv4, ["10.99.0.2/32", "10.100.1.0/24"]);
  assertEquals(s.nft.bypassTcpSourcePorts, [3000]);
});
