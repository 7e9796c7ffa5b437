import { assert, assertEquals } from "../../_tools/assert.ts";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  decodeAffiliate,
  encodeAffiliate,
  MAX_PLAIN_DATA,
} from "../../../plugins/discovery_service/payload.ts";
import { AffiliateSchema } from "../../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";

const TALOS_FIELDS: AffiliateSpec = {
  nodeId: "node-a",
  hostname: "a.example",
  nodename: "a",
  machineType: "worker",
  operatingSystem: "edgespan",
  addresses: ["192.168.1.2"],
  kubespan: {
    publicKey: "mkT2M9Zd3lu0Avy9o2h3wJpYb3EUIBIZVGbWzBhhhHc=",
    address: "fd7f:175a:b97c:5602:aaaa:bbff:fecc:dd01",
    additionalAddresses: ["10.244.1.0/24"],
    endpoints: ["192.168.1.2:51820", "198.51.100.11:51820"],
    excludeAdvertisedNetworks: [],
  },
  controlPlane: { apiServerPort: 6443 },
  sources: ["test"],
};
const WITH_EXT: AffiliateSpec = {
  ...TALOS_FIELDS,
  edgespan: {
    advertised: ["192.168.1.2:51820", "198.51.100.11:51820"],
    observed: [
      { affiliateID: "node-b", endpoint: "198.51.100.12:1024" },
      { affiliateID: "node-c", endpoint: "[2001:db8:3::5]:51820" },
    ],
  },
};

/** Known fields only, as Talos's decoder sees them. */
const talosView = (bytes: Uint8Array) =>
  toBinary(AffiliateSchema, fromBinary(AffiliateSchema, bytes), {
    writeUnknownFields: false,
  });

Deno.test("payload extension: round trip of field 100", () => {
  const back = decodeAffiliate(encodeAffiliate(WITH_EXT), {
    endpoints: WITH_EXT.kubespan!.endpoints,
    source: "test",
  });
  assertEquals(back, WITH_EXT);
});

Deno.test("payload extension: Talos's decoder (upstream schema) reads the same fields with or without it", () => {
  const plain = encodeAffiliate(TALOS_FIELDS);
  const extended = encodeAffiliate(WITH_EXT);
  assert(extended.length > plain.length);
  // The Talos bytes are a prefix: no field Talos reads changes.
  assertEquals(extended.subarray(0, plain.length), plain);
  assertEquals(talosView(extended), talosView(plain));
  const msg = fromBinary(AffiliateSchema, extended);
  assertEquals(msg.nodeId, "node-a");
  assertEquals(msg.kubespan?.publicKey, TALOS_FIELDS.kubespan!.publicKey);
  assertEquals(msg.controlPlane?.apiServerPort, 6443);
  // The unknown field Talos skips is number 100 (wire type 2).
  assertEquals(msg.$unknown?.map((u) => [u.no, u.wireType]), [[100, 2]]);
  // Without the extension the bytes are what they always were.
  assertEquals(decodeAffiliate(plain, { source: "test" }).edgespan, undefined);
});

Deno.test("payload extension: observations are trimmed to fit the 2048-byte data limit, Talos fields never", () => {
  const many: AffiliateSpec = {
    ...WITH_EXT,
    edgespan: {
      advertised: WITH_EXT.edgespan!.advertised,
      observed: Array.from({ length: 100 }, (_, i) => ({
        affiliateID: `node-${"x".repeat(40)}-${i}`,
        endpoint: `[2001:db8::${i + 1}]:${1000 + i}`,
      })),
    },
  };
  const bytes = encodeAffiliate(many);
  assert(bytes.length <= MAX_PLAIN_DATA, `${bytes.length} bytes`);
  const back = decodeAffiliate(bytes, { source: "test" });
  const kept = back.edgespan!.observed.length;
  assert(kept > 10 && kept < 100, `${kept} observations kept`);
  assertEquals(back.edgespan!.observed, many.edgespan!.observed.slice(0, kept));
  assertEquals(talosView(bytes), talosView(encodeAffiliate(TALOS_FIELDS)));
  // No room at all: the extension is left out, the Talos part stays whole.
  const tight = encodeAffiliate(many, encodeAffiliate(TALOS_FIELDS).length);
  assertEquals(tight, encodeAffiliate(TALOS_FIELDS));
});

Deno.test("payload extension: a bad observation is dropped alone", () => {
  // Field 100 { observed(2) { node_id(1) "b", endpoint(2) { ip(1) 3 bytes } } }
  const badIp = [0x0a, 1, 0x62, 0x12, 5, 0x0a, 3, 1, 2, 3];
  const good = [
    0x0a,
    1,
    0x63,
    0x12,
    9,
    0x0a,
    4,
    203,
    0,
    113,
    7,
    0x10,
    0xe8,
    0x07,
  ];
  const ext = [0x12, badIp.length, ...badIp, 0x12, good.length, ...good];
  const bytes = new Uint8Array([
    ...encodeAffiliate(TALOS_FIELDS),
    0xa2,
    0x06,
    ext.length,
    ...ext,
  ]);
  const skipped: string[] = [];
  const back = decodeAffiliate(bytes, {
    source: "test",
    onSkip: (item) => skipped.push(item),
  });
  assertEquals(back.edgespan, {
    advertised: [],
    observed: [{ affiliateID: "c", endpoint: "203.0.113.7:1000" }],
  });
  assertEquals(skipped, ["edgespan.observed[0]"]);
});
