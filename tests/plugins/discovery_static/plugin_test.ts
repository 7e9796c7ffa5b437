import { assertEquals } from "../../_tools/assert.ts";
import {
  discoveryStaticPlugin,
  parseStaticOptions,
} from "../../../plugins/discovery_static/mod.ts";
import type { PluginContext } from "../../../core/plugins/types.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import { silentLogger } from "../../../core/log/logger.ts";

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(3)));
const SELF = btoa(String.fromCharCode(...new Uint8Array(32).fill(4)));

Deno.test("parseStaticOptions() normalises peers", () => {
  const r = parseStaticOptions({
    peers: [{
      publicKey: KEY,
      address: "fd00:0::3",
      endpoints: ["203.0.113.3:51820", "[2001:db8::3]:51820"],
      networks: ["10.3.0.1/24"],
      hostname: "site-3",
    }],
  });
  assertEquals(r, {
    ok: true,
    options: {
      peers: [{
        publicKey: KEY,
        address: "fd00::3",
        endpoints: ["203.0.113.3:51820", "[2001:db8::3]:51820"],
        networks: ["10.3.0.0/24"],
        hostname: "site-3",
      }],
    },
  });
});

Deno.test("parseStaticOptions() names the failing field", () => {
  const r = parseStaticOptions({
    peers: [
      { publicKey: "short", address: "fd00::1" },
      {
        publicKey: KEY,
        address: "nope",
        endpoints: ["1.2.3.4"],
        networks: ["x"],
        extra: 1,
      },
    ],
    other: true,
  });
  assertEquals(r.ok, false);
  if (!r.ok) {
    assertEquals(r.problems.map((p) => p.path), [
      "other",
      "peers[0].publicKey",
      "peers[1].address",
      "peers[1].endpoints[0]",
      "peers[1].networks[0]",
      "peers[1].extra",
    ]);
  }
  assertEquals(parseStaticOptions({ peers: "x" }).ok, false);
});

Deno.test("discovery-static reports peers as affiliates, skipping itself", () => {
  const parsed = parseStaticOptions({
    peers: [
      {
        publicKey: KEY,
        address: "fd00::3",
        endpoints: ["203.0.113.3:51820"],
        networks: ["10.3.0.0/24"],
      },
      { publicKey: SELF, address: "fd00::4", nodeId: "me" },
    ],
  });
  if (!parsed.ok) throw new Error("options rejected");
  const ctx = {
    pluginName: "discovery-static",
    identity: {
      nodeId: "me",
      spec: { publicKey: SELF },
    } as unknown as LocalIdentity,
    log: silentLogger(),
    now: Date.now,
    signal: new AbortController().signal,
    oneShot: false,
    requestReconcile: () => {},
    listResources: () => [],
  } as unknown as PluginContext;
  const p = discoveryStaticPlugin.create(ctx, parsed.options);
  assertEquals(p.discovery.affiliates(), [{
    nodeId: `static-${KEY}`,
    hostname: "",
    nodename: "",
    machineType: "",
    operatingSystem: "",
    addresses: ["fd00::3"],
    kubespan: {
      publicKey: KEY,
      address: "fd00::3",
      additionalAddresses: ["10.3.0.0/24"],
      endpoints: ["203.0.113.3:51820"],
      excludeAdvertisedNetworks: [],
    },
    sources: ["discovery-static"],
  }]);
  assertEquals(p.discovery.health().state, "static");
  assertEquals(discoveryStaticPlugin.defaultEnabled, false);
});
