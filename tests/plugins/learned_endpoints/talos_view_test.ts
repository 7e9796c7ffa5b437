import { assertEquals } from "../../_tools/assert.ts";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AffiliateSchema,
  EndpointSchema,
} from "../../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import { formatAddrPort, ipFromBytes } from "../../../core/netaddr/ip.ts";
import { buildLocalAffiliate } from "../../../core/mesh/local_affiliate.ts";
import { selfMappings } from "../../../plugins/learned_endpoints/self_mapping.ts";
import {
  clusterKey,
  createClusterCipher,
} from "../../../plugins/discovery_service/crypto.ts";
import { encodeAffiliate } from "../../../plugins/discovery_service/payload.ts";
import {
  KEY_B64,
  rawClient,
  startServer,
} from "../discovery_service/_harness.ts";
import { fastClient } from "../discovery_service/_affiliates.ts";

const CIPHER = createClusterCipher(clusterKey(KEY_B64));

Deno.test("learned mapping on the wire: Talos's schema reads it in the plain endpoint list, after the node's own, its data unchanged", async () => {
  // node-1 is behind a NAT that mapped it to :1024; node-2 (up) saw that.
  const observers = [{
    nodeId: "node-2",
    edgespan: {
      advertised: [],
      observed: [{ affiliateID: "node-1", endpoint: "198.51.100.10:1024" }],
    },
  }];
  const build = (learned: boolean) =>
    buildLocalAffiliate({
      nodeId: "node-1",
      hostname: "h1",
      kubespanEnabled: true,
      publicKey: btoa(String.fromCharCode(...new Uint8Array(32).fill(1))),
      meshAddress: "fd00::1",
      nodeAddresses: ["192.168.0.1"],
      publicAddresses: ["198.51.100.10"],
      excludedRanges: [],
      filterEndpoints: (a) => a,
      listenPort: 51820,
      extraAnnouncedEndpoints: [],
      advertisedNetworks: [],
      excludeAdvertisedNetworks: [],
      operatingSystem: "edgespan (test)",
      ...(learned
        ? {
          appendEndpoints: (own: readonly string[]) =>
            selfMappings({
              nodeId: "node-1",
              nodeAddresses: ["192.168.0.1"],
              own,
              observers,
              up: new Set(["node-2"]),
              seen: new Map(),
              now: 0,
            }).endpoints,
        }
        : {}),
    });
  const local = build(true);
  const srv = await startServer();
  const ac = new AbortController();
  const a = fastClient(srv.port, 1, { harvest: true });
  const run = a.run(ac.signal);
  try {
    a.publish(local, []);
    const raw = rawClient(srv.port);
    let wire: { data: Uint8Array; endpoints: Uint8Array[] } | undefined;
    const end = Date.now() + 5_000;
    while (!wire) {
      if (Date.now() > end) throw new Error("node-1 was never published");
      const list = await raw.list({ clusterId: "test-cluster" });
      wire = list.affiliates.find((x) => x.id === "node-1" && x.data.length);
      if (!wire) await new Promise((r) => setTimeout(r, 20));
    }
    // What a Talos node decodes: each endpoint with the upstream schema.
    const endpoints = wire!.endpoints.map((sealed) => {
      const plain = CIPHER.openEndpoint(sealed);
      const e = fromBinary(EndpointSchema, plain);
      return formatAddrPort({ ip: ipFromBytes(e.ip), port: e.port });
    });
    assertEquals(endpoints, [
      "192.168.0.1:51820",
      "198.51.100.10:51820",
      "198.51.100.10:1024",
    ]);
    // The data Talos reads is the same as without the learned mapping.
    const talos = fromBinary(AffiliateSchema, CIPHER.openData(wire!.data));
    assertEquals(
      toBinary(AffiliateSchema, talos, { writeUnknownFields: false }),
      encodeAffiliate(build(false)),
    );
  } finally {
    ac.abort();
    await run;
    await srv.close();
  }
});
