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
  machineType: "controlplane",
  operatingSystem: "edgespan",
  addresses: ["192.168.1.2", "fd00::2"],
  kubespan: {
    publicKey: "mkT2M9Zd3lu0Avy9o2h3wJpYb3EUIBIZVGbWzBhhhHc=",
    address: "fd7f:175a:b97c:5602:aaaa:bbff:fecc:dd01",
    additionalAddresses: ["10.244.1.0/24"],
    endpoints: ["192.168.1.2:51820"],
    excludeAdvertisedNetworks: ["10.0.0.0/8"],
  },
  controlPlane: { apiServerPort: 6443 },
  sources: ["test"],
};

const text = (s: string) => Array.from(new TextEncoder().encode(s));

/** One length-delimited protobuf field (field numbers and lengths < 128). */
function ld(field: number, body: readonly number[]): number[] {
  return [(field << 3) | 2, body.length, ...body];
}

Deno.test("encodeAffiliate() / decodeAffiliate() round trip", () => {
  const back = decodeAffiliate(encodeAffiliate(SPEC), {
    endpoints: SPEC.kubespan!.endpoints,
    source: "test",
  });
  assertEquals(back, SPEC);
});

Deno.test("encodeAffiliate() puts node_id first as field 1 and addresses as raw bytes", () => {
  const { kubespan: _k, controlPlane: _c, ...plain } = SPEC;
  const bytes = encodeAffiliate({ ...plain, addresses: ["10.0.0.1"] });
  assertEquals(Array.from(bytes.slice(0, 8)), [
    0x0a,
    6,
    ...new TextEncoder().encode("node-a"),
  ]);
  assertEquals(Array.from(bytes.slice(8, 14)), [0x12, 4, 10, 0, 0, 1]);
});

Deno.test("encodeAffiliate() writes control_plane as field 8 { api_server_port = 1 }", () => {
  const { kubespan: _k, ...plain } = SPEC;
  const bytes = Array.from(encodeAffiliate({ ...plain, addresses: [] }));
  // 0x42 = field 8, wire type 2; 6443 = varint 0xab 0x32.
  assertEquals(bytes.slice(-5), [0x42, 3, 0x08, 0xab, 0x32]);
  const { controlPlane: _c, ...worker } = plain;
  assertEquals(
    Array.from(encodeAffiliate({ ...worker, addresses: [] })).includes(0x42),
    false,
  );
});

Deno.test("decodeAffiliate() reads control_plane from golden bytes", () => {
  const bytes = new Uint8Array([
    ...ld(1, text("cp-1")),
    ...ld(5, text("controlplane")),
    ...ld(8, [0x08, 0xab, 0x32]),
  ]);
  const spec = decodeAffiliate(bytes, { source: "x" });
  assertEquals(spec.machineType, "controlplane");
  assertEquals(spec.controlPlane, { apiServerPort: 6443 });
  const empty = decodeAffiliate(new Uint8Array(ld(8, [])), { source: "x" });
  assertEquals(empty.controlPlane, { apiServerPort: 0 });
  assertEquals(
    decodeAffiliate(new Uint8Array(ld(1, text("w"))), { source: "x" })
      .controlPlane,
    undefined,
  );
});

Deno.test("decodeAffiliate() drops each malformed address and prefix alone", () => {
  const key = SPEC.kubespan!.publicKey;
  const mesh = [
    0xfd,
    0x7f,
    0x17,
    0x5a,
    0xb9,
    0x7c,
    0x56,
    2,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
  ];
  const bytes = new Uint8Array([
    ...ld(1, text("node-b")),
    ...ld(2, [10, 0, 0, 2]),
    ...ld(2, [1, 2, 3, 4, 5]), // 5 bytes: not an address
    ...ld(2, [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
    ...ld(3, text("b")),
    ...ld(
      7,
      [
        ...ld(1, text(key)),
        ...ld(2, mesh),
        ...ld(3, [...ld(1, [10, 9, 0, 0]), 0x10, 16]),
        ...ld(3, [...ld(1, [10, 8, 0, 0]), 0x10, 33]), // /33 on IPv4
        ...ld(3, [...ld(1, [10, 8, 0]), 0x10, 8]), // 3-byte address
        ...ld(4, [...ld(1, [1, 2]), 0x10, 8]), // 2-byte address
        ...ld(4, [...ld(1, [192, 168, 0, 0]), 0x10, 16]),
      ],
    ),
    ...ld(8, [0x08, 0x80, 0x80, 0x04]), // port 65536
  ]);
  const skipped: string[] = [];
  const spec = decodeAffiliate(bytes, {
    endpoints: ["10.0.0.2:51820"],
    source: "x",
    onSkip: (item) => skipped.push(item),
  });
  assertEquals(spec, {
    nodeId: "node-b",
    hostname: "b",
    nodename: "",
    machineType: "",
    operatingSystem: "",
    addresses: ["10.0.0.2", "fd00::2"],
    kubespan: {
      publicKey: key,
      address: "fd7f:175a:b97c:5602::1",
      additionalAddresses: ["10.9.0.0/16"],
      excludeAdvertisedNetworks: ["192.168.0.0/16"],
      endpoints: ["10.0.0.2:51820"],
    },
    sources: ["x"],
  });
  assertEquals(skipped, [
    "addresses[1]",
    "kubespan.additionalAddresses[1]",
    "kubespan.additionalAddresses[2]",
    "kubespan.excludeAdvertisedAddresses[0]",
    "controlPlane",
  ]);
});

Deno.test("decodeAffiliate() keeps the node but drops a KubeSpan block whose key is not a WireGuard key", () => {
  const bytes = new Uint8Array([
    ...ld(1, text("node-c")),
    ...ld(2, [10, 0, 0, 3]),
    ...ld(7, [...ld(1, text("not-a-key")), ...ld(2, [1, 2, 3])]),
  ]);
  const skipped: string[] = [];
  const spec = decodeAffiliate(bytes, {
    endpoints: ["10.0.0.3:51820"],
    source: "x",
    onSkip: (item, reason) => skipped.push(`${item}: ${reason}`),
  });
  assertEquals(spec.addresses, ["10.0.0.3"]);
  assertEquals(spec.kubespan, undefined);
  assertEquals(skipped.length, 1);
  assertEquals(skipped[0]!.startsWith("kubespan: "), true);
});

Deno.test("decodeAffiliate() leaves a malformed mesh address empty, as Talos leaves it zero", () => {
  const bytes = new Uint8Array([
    ...ld(1, text("node-d")),
    ...ld(7, [...ld(1, text(SPEC.kubespan!.publicKey)), ...ld(2, [1, 2, 3])]),
  ]);
  const skipped: string[] = [];
  const spec = decodeAffiliate(bytes, {
    source: "x",
    onSkip: (item) => skipped.push(item),
  });
  assertEquals(spec.kubespan?.address, "");
  assertEquals(spec.kubespan?.publicKey, SPEC.kubespan!.publicKey);
  assertEquals(skipped, ["kubespan.address"]);
});

Deno.test("decodeEndpoint() rejects bad addresses and ports; decodeAffiliate() rejects non-protobuf", () => {
  assertThrows(() =>
    decodeEndpoint(new Uint8Array([0x0a, 3, 1, 2, 3, 0x10, 1]))
  );
  assertThrows(() => decodeEndpoint(new Uint8Array([0x0a, 4, 1, 2, 3, 4])));
  assertThrows(() =>
    decodeAffiliate(new Uint8Array([0xff, 0xff, 0xff]), { source: "x" })
  );
});
