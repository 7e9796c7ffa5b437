import {
  type DesiredRouting,
  diffRouting,
  diffSize,
  type RoutingSnapshot,
} from "../../../ffi/rtnetlink/diff.ts";
import { assertEquals } from "../../_tools/assert.ts";

const desired: DesiredRouting = {
  addresses: [{ ifname: "kubespan", address: "fd00::1/64" }],
  routes: [
    {
      destination: "0.0.0.0/0",
      device: "kubespan",
      table: 180,
      metric: 1,
      mtu: 1420,
    },
    {
      destination: "::/0",
      device: "kubespan",
      table: 180,
      metric: 1,
      mtu: 1420,
    },
  ],
  rules: [
    { family: 4, priority: 32500, table: 180, fwmark: 0x40, fwmask: 0x60 },
    { family: 6, priority: 32500, table: 180, fwmark: 0x40, fwmask: 0x60 },
  ],
};

Deno.test("diffRouting from empty adds everything", () => {
  const d = diffRouting({ addresses: [], routes: [], rules: [] }, desired);
  assertEquals([d.addAddresses.length, d.addRoutes.length, d.addRules.length], [
    1,
    2,
    2,
  ]);
  assertEquals(
    d.removeRoutes.length + d.removeRules.length + d.removeAddresses.length,
    0,
  );
});

Deno.test("diffRouting of an equal state is empty (text forms normalised)", () => {
  const current: RoutingSnapshot = {
    addresses: [
      { ifname: "kubespan", address: "FD00:0::1/64" },
      { ifname: "kubespan", address: "fe80::1/64" },
      { ifname: "eth0", address: "192.168.1.5/24" },
    ],
    routes: [
      {
        destination: "0.0.0.0/0",
        device: "kubespan",
        table: 180,
        metric: 1,
        mtu: 1420,
      },
      {
        destination: "0::0/0",
        device: "kubespan",
        table: 180,
        metric: 1,
        mtu: 1420,
      },
      { destination: "10.0.0.0/8", device: "eth0", table: 254, metric: 0 },
    ],
    rules: [
      ...desired.rules,
      { family: 4, priority: 32766, table: 254 },
    ],
  };
  assertEquals(diffSize(diffRouting(current, desired)), 0);
});

Deno.test("diffRouting touches only what differs and only inside its scope", () => {
  const current: RoutingSnapshot = {
    addresses: [{ ifname: "kubespan", address: "fd00::9/64" }],
    routes: [
      {
        destination: "0.0.0.0/0",
        device: "kubespan",
        table: 180,
        metric: 1,
        mtu: 1380,
      },
      {
        destination: "::/0",
        device: "kubespan",
        table: 180,
        metric: 1,
        mtu: 1420,
      },
      { destination: "10.9.0.0/16", device: "kubespan", table: 180 },
      { destination: "10.9.0.0/16", device: "eth0", table: 254 },
    ],
    rules: [
      { family: 4, priority: 32500, table: 181, fwmark: 0x40, fwmask: 0x60 },
      { family: 6, priority: 32500, table: 180, fwmark: 0x40, fwmask: 0x60 },
      { family: 4, priority: 100, table: 50 },
    ],
  };
  const d = diffRouting(current, desired);
  assertEquals(d.removeAddresses, [{
    ifname: "kubespan",
    address: "fd00::9/64",
  }]);
  assertEquals(d.addAddresses, desired.addresses);
  assertEquals(d.removeRoutes.map((r) => `${r.destination} ${r.mtu ?? 0}`), [
    "0.0.0.0/0 1380",
    "10.9.0.0/16 0",
  ]);
  assertEquals(d.addRoutes.map((r) => r.destination), ["0.0.0.0/0"]);
  assertEquals(d.removeRules.map((r) => r.table), [181]);
  assertEquals(d.addRules.map((r) => r.family), [4]);
});

Deno.test("diffRouting removes the last route of an owned table", () => {
  const d = diffRouting(
    {
      addresses: [],
      rules: [],
      routes: [{ destination: "::/0", device: "x", table: 180, metric: 1 }],
    },
    { addresses: [], rules: [], routes: [], tables: [180] },
  );
  assertEquals(d.removeRoutes.length, 1);
});

Deno.test("diffRouting replaces an IPv4 route whose scope differs; IPv6 scope is always global", () => {
  const route = {
    destination: "0.0.0.0/0",
    device: "kubespan",
    table: 180,
    metric: 1,
    mtu: 1420,
  };
  const route6 = { ...route, destination: "::/0" };
  const want: DesiredRouting = {
    addresses: [],
    rules: [],
    routes: [
      { ...route, scope: "global" },
      { ...route6, scope: "global" },
    ],
  };
  const d = diffRouting({
    addresses: [],
    rules: [],
    // As an older agent left them: device routes, scope link.
    routes: [{ ...route, scope: "link" }, { ...route6, scope: "global" }],
  }, want);
  assertEquals(d.removeRoutes.map((r) => `${r.destination} ${r.scope}`), [
    "0.0.0.0/0 link",
  ]);
  assertEquals(d.addRoutes.map((r) => `${r.destination} ${r.scope}`), [
    "0.0.0.0/0 global",
  ]);
  const same = diffRouting({
    addresses: [],
    rules: [],
    routes: [{ ...route, scope: "global" }, route6],
  }, want);
  assertEquals(diffSize(same), 0);
});
