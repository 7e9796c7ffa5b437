import { assertEquals } from "../../_tools/assert.ts";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { AffiliateSchema } from "../../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import {
  decodeAffiliate,
  encodeAffiliate,
} from "../../../plugins/discovery_service/payload.ts";
import { mergeAffiliates } from "../../../core/mesh/merge.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";

const T0 = Date.parse("2026-12-01T10:00:00.123Z");

const BASE: AffiliateSpec = {
  nodeId: "w2",
  hostname: "w2",
  nodename: "w2",
  machineType: "worker",
  operatingSystem: "edgespan",
  addresses: ["10.2.0.12"],
  kubespan: {
    publicKey: "mkT2M9Zd3lu0Avy9o2h3wJpYb3EUIBIZVGbWzBhhhHc=",
    address: "fd00::2",
    additionalAddresses: [],
    endpoints: ["10.2.0.12:51820"],
    excludeAdvertisedNetworks: [],
  },
  sources: ["test"],
};
const SEARCHING: AffiliateSpec = {
  ...BASE,
  edgespan: {
    advertised: ["10.2.0.12:51820"],
    observed: [],
    searching: [
      { affiliateID: "w1", since: T0 },
      { affiliateID: "w3", since: T0 - 60_000 },
    ],
  },
};

/** Known fields only, as Talos's decoder sees them. */
const talosView = (bytes: Uint8Array) =>
  toBinary(AffiliateSchema, fromBinary(AffiliateSchema, bytes), {
    writeUnknownFields: false,
  });

Deno.test("payload: announced searches round-trip in the extension (ms kept); Talos's decoder sees the plain affiliate", () => {
  const bytes = encodeAffiliate(SEARCHING);
  const back = decodeAffiliate(bytes, {
    endpoints: BASE.kubespan!.endpoints,
    source: "test",
  });
  assertEquals(back, SEARCHING);
  assertEquals(talosView(bytes), talosView(encodeAffiliate(BASE)));
});

Deno.test("mergeAffiliates() keeps the latest announced start per searched node", () => {
  const older: AffiliateSpec = {
    ...SEARCHING,
    edgespan: {
      ...SEARCHING.edgespan!,
      searching: [{ affiliateID: "w1", since: T0 - 5_000 }],
    },
  };
  const [merged] = mergeAffiliates([[older], [SEARCHING]]);
  assertEquals(merged!.edgespan!.searching, [
    { affiliateID: "w1", since: T0 },
    { affiliateID: "w3", since: T0 - 60_000 },
  ]);
});
