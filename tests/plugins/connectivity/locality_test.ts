import {
  endpointLocality,
  orderByLocality,
} from "../../../plugins/connectivity/locality.ts";
import { assertEquals } from "../../_tools/assert.ts";

// The lab's two-cone-NAT site: this box is 10.0.1.2/24 behind 198.51.100.11;
// the peer advertises its own LAN address first (KubeSpan's order), then the
// public address discovery saw it at.
Deno.test("orderByLocality() tries another site's LAN address after the public one", () => {
  assertEquals(
    orderByLocality(["10.0.2.2:51820", "198.51.100.12:51820"], [
      "10.0.1.2/24",
    ]),
    ["198.51.100.12:51820", "10.0.2.2:51820"],
  );
});

Deno.test("orderByLocality() puts a candidate in this box's subnet first (no hairpin)", () => {
  assertEquals(
    orderByLocality(
      ["198.51.100.11:51820", "10.0.1.3:51820"],
      ["10.0.1.2/24", "2001:db8:1::2/64"],
    ),
    ["10.0.1.3:51820", "198.51.100.11:51820"],
  );
});

Deno.test("orderByLocality() golden vector: local, then public, then private, stable within a tier", () => {
  const endpoints = [
    "192.168.7.9:51820", // private, not ours
    "[2001:db8:1::7]:51820", // in our IPv6 /64
    "203.0.113.5:4000", // public
    "10.0.1.9:51820", // in our IPv4 /24
    "100.64.3.3:51820", // CGNAT: private
    "[fd00::5]:51820", // ULA: private
    "[2001:db8:9::1]:51820", // public IPv6
    "172.20.0.1:51820", // private
    "not-an-endpoint", // unparsable: last tier
    "198.51.100.12:51820", // public
  ];
  assertEquals(
    orderByLocality(endpoints, ["10.0.1.2/24", "2001:db8:1::2/64", "bogus"]),
    [
      "[2001:db8:1::7]:51820",
      "10.0.1.9:51820",
      "203.0.113.5:4000",
      "[2001:db8:9::1]:51820",
      "198.51.100.12:51820",
      "192.168.7.9:51820",
      "100.64.3.3:51820",
      "[fd00::5]:51820",
      "172.20.0.1:51820",
      "not-an-endpoint",
    ],
  );
});

Deno.test("orderByLocality() without local prefixes keeps public before private", () => {
  assertEquals(
    orderByLocality(["10.0.0.1:1", "198.51.100.1:1", "10.0.0.2:1"], []),
    ["198.51.100.1:1", "10.0.0.1:1", "10.0.0.2:1"],
  );
});

Deno.test("endpointLocality() classifies by this box's subnets and global unicast", () => {
  const local = ["10.99.0.1/24"];
  assertEquals(endpointLocality("10.99.0.2:51820", local), "local");
  assertEquals(endpointLocality("10.100.2.1:51820", local), "private");
  assertEquals(endpointLocality("198.51.100.12:51820", local), "public");
  assertEquals(endpointLocality("[fe80::1]:51820", local), "private");
  assertEquals(endpointLocality("garbage", local), "private");
  // A host prefix (/32) holds only the box itself.
  assertEquals(
    endpointLocality("10.99.0.2:51820", ["10.99.0.1/32"]),
    "private",
  );
});
