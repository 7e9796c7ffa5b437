/**
 * The relay offer in edgespan's affiliate extension: golden bytes, round
 * trip, and a Talos-shaped decoder (the sidero Affiliate message alone)
 * reads the same affiliate as without the offer.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { AffiliateSchema } from "../../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import {
  decodeAffiliate,
  encodeAffiliate,
} from "../../../plugins/discovery_service/payload.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import {
  parseRelayOptions,
  RELAY_DEFAULTS,
} from "../../../plugins/peer_relay/options.ts";
import { assertEquals } from "../../_tools/assert.ts";

const SPEC: AffiliateSpec = {
  nodeId: "n1",
  hostname: "relay",
  nodename: "relay",
  machineType: "worker",
  operatingSystem: "edgespan",
  addresses: ["203.0.113.50"],
  sources: ["local"],
  kubespan: {
    publicKey: "A".repeat(43) + "=",
    address: "fd00::1",
    additionalAddresses: [],
    endpoints: ["203.0.113.50:51820"],
    excludeAdvertisedNetworks: [],
  },
  edgespan: {
    advertised: [],
    observed: [],
    relay: { controlPort: 51899, priority: 2 },
  },
};

const hex = (b: Uint8Array) =>
  [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("encodeAffiliate() a relay offer is field 3 of the extension (golden bytes)", () => {
  const { edgespan: _, ...talosOnly } = SPEC;
  const talos = encodeAffiliate(talosOnly);
  const all = encodeAffiliate(SPEC);
  assertEquals(
    hex(all.subarray(0, talos.length)),
    hex(talos),
    "Talos bytes unchanged",
  );
  // field 100 { field 3 { control_port = 51899, priority = 2 } }
  assertEquals(hex(all.subarray(talos.length)), "a206081a0608bb95031002");
});

Deno.test("decodeAffiliate() reads the offer back; a Talos decoder sees the same affiliate", () => {
  const bytes = encodeAffiliate(SPEC);
  const back = decodeAffiliate(bytes, {
    source: "discovery-service",
    endpoints: SPEC.kubespan!.endpoints,
  });
  assertEquals(back.edgespan?.relay, { controlPort: 51899, priority: 2 });
  const { edgespan: _, ...talosOnly } = SPEC;
  const talos = fromBinary(AffiliateSchema, encodeAffiliate(talosOnly));
  const withOffer = fromBinary(AffiliateSchema, bytes);
  assertEquals(withOffer.nodeId, talos.nodeId);
  assertEquals(withOffer.kubespan?.publicKey, talos.kubespan?.publicKey);
  assertEquals(withOffer.addresses, talos.addresses);
});

Deno.test("decodeAffiliate() drops an offer with a bad control port, alone", () => {
  const bad = encodeAffiliate({
    ...SPEC,
    edgespan: {
      advertised: [],
      observed: [],
      relay: { controlPort: 70000, priority: 0 },
    },
  });
  const skipped: string[] = [];
  const back = decodeAffiliate(bad, {
    source: "x",
    onSkip: (item, reason) => skipped.push(`${item}: ${reason}`),
  });
  assertEquals(back.edgespan?.relay, undefined);
  assertEquals(skipped, ["edgespan.relay: control port 70000 is out of range"]);
});

Deno.test("parseRelayOptions() defaults, values and problems by key", () => {
  assertEquals(parseRelayOptions({}), { ok: true, options: RELAY_DEFAULTS });
  const r = parseRelayOptions({
    serve: true,
    ports: "52000-52009",
    maxPairs: 4,
    priority: 1,
    after: "5s",
  });
  assertEquals(r.ok && r.options, {
    ...RELAY_DEFAULTS,
    serve: true,
    ports: [52000, 52009],
    maxPairs: 4,
    priority: 1,
    timers: { thresholdMs: 5000 },
  });
  const bad = parseRelayOptions({
    serve: "yes",
    maxPairs: 0,
    controlPort: 51950,
    colour: 1,
  });
  assertEquals(
    bad.ok ? [] : bad.problems.map((p) => p.path),
    ["colour", "serve", "maxPairs", "controlPort"],
  );
});
