import { assertEquals, assertThrows } from "../../_tools/assert.ts";
import {
  decodeAffiliate,
  decodeEndpoint,
  encodeAffiliate,
} from "../../../plugins/discovery_service/payload.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";

const SPEC: AffiliateSpec = {
  nodeId: "node-a",
  hostname: "a.example",
  nodename: "a",
  machineType: "worker",
  operatingSystem: "edgespan",
  addresses: ["192.168.1.2", "fd00::2"],
  kubespan: {
    publicKey: "mkT2M9Zd3lu0Avy9o2h3wJpYb3EUIBIZVGbWzBhhhHc=",
    address: "fd7f:175a:b97c:5602:aaaa:bbff:fecc:dd01",
    additionalAddresses: ["10.244.1.0/24"],
    endpoints: ["192.168.1.2:51820"],
    excludeAdvertisedNetworks: ["10.0.0.0/8"],
  },
  sources: ["test"],
};

Deno.test("encodeAffiliate() / decodeAffiliate() round trip", () => {
  const back = decodeAffiliate(
    encodeAffiliate(SPEC),
    SPEC.kubespan!.endpoints,
    "test",
  );
  assertEquals(back, SPEC);
});

Deno.test("encodeAffiliate() puts node_id first as field 1 and addresses as raw bytes", () => {
  const { kubespan: _k, ...plain } = SPEC;
  const bytes = encodeAffiliate({ ...plain, addresses: ["10.0.0.1"] });
  assertEquals(Array.from(bytes.slice(0, 8)), [
    0x0a,
    6,
    ...new TextEncoder().encode("node-a"),
  ]);
  assertEquals(Array.from(bytes.slice(8, 14)), [0x12, 4, 10, 0, 0, 1]);
});

Deno.test("decodeEndpoint() rejects bad addresses and ports", () => {
  assertThrows(() =>
    decodeEndpoint(new Uint8Array([0x0a, 3, 1, 2, 3, 0x10, 1]))
  );
  assertThrows(() => decodeEndpoint(new Uint8Array([0x0a, 4, 1, 2, 3, 4])));
  assertThrows(() =>
    decodeAffiliate(new Uint8Array([0xff, 0xff, 0xff]), [], "x")
  );
});
