import { createMeshStep } from "../../../core/mesh/mesh_step.ts";
import { MeshPassError } from "../../../core/mesh/types.ts";
import { validateConfig } from "../../../core/config/validate.ts";
import type { EdgespanConfig } from "../../../core/config/types.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import type { WgKey } from "../../../core/identity/keys.ts";
import { parsePrefix } from "../../../core/netaddr/ip.ts";
import { silentLogger } from "../../../core/log/logger.ts";
import {
  knownPlugins,
  PluginRegistry,
} from "../../../core/plugins/registry.ts";
import {
  type AnyPluginDefinition,
  definePlugin,
} from "../../../core/plugins/types.ts";
import type {
  AffiliateSpec,
  EndpointSpec,
  PeerStatusSpec,
} from "../../../core/resources/specs.ts";
import { RESOURCE_DEFINITIONS } from "../../../core/resources/definitions.ts";
import { ResourceStore } from "../../../core/resources/store.ts";
import { BUILTIN_PLUGINS } from "../../../plugins/mod.ts";
import { FakeDataplane } from "./_fake_dataplane.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const T0 = Date.parse("2026-01-01T00:00:00Z");

/** KubeSpan's own plugins only: the connectivity plugins are switched off. */
const KUBESPAN_ONLY = { "lan-preference": false, "endpoint-search": false };

function config(
  kubespan: Record<string, unknown> = {},
  plugins: Record<string, boolean> = KUBESPAN_ONLY,
): EdgespanConfig {
  const r = validateConfig(
    {
      cluster: { id: "site", secret: SECRET },
      kubespan,
      advertise: { networks: [] },
      plugins,
    },
    { plugins: knownPlugins(BUILTIN_PLUGINS) },
  );
  assert(r.ok);
  return r.config;
}

const IDENTITY: LocalIdentity = {
  spec: {
    address: "fd00:1:2:302::1/128",
    subnet: "fd00:1:2:302::/64",
    privateKey: "PRIVATE" as WgKey,
    publicKey: "LOCAL" as WgKey,
  },
  nodeId: "local",
  hardwareAddr: { link: "eth0", mac: new Uint8Array(6), physical: true },
  subnetPrefix: parsePrefix("fd00:1:2:302::/64"),
  addressPrefix: parsePrefix("fd00:1:2:302::1/128"),
};

function remote(id: string, n: number, endpoints: string[]): AffiliateSpec {
  return {
    nodeId: id,
    hostname: `edge-${id}`,
    nodename: `edge-${id}`,
    machineType: "edge",
    operatingSystem: "",
    addresses: [`192.0.2.${n}`],
    kubespan: {
      publicKey: `KEY-${id}`,
      address: `fd00:1:2:302::${n}`,
      additionalAddresses: [`10.${n}.0.0/16`],
      endpoints,
      excludeAdvertisedNetworks: [],
    },
    sources: ["test"],
  };
}

async function harness(
  cfg: EdgespanConfig,
  extra: readonly AnyPluginDefinition[] = [],
) {
  const store = new ResourceStore(RESOURCE_DEFINITIONS);
  const registry = new PluginRegistry([...BUILTIN_PLUGINS, ...extra], {
    store,
    log: silentLogger(),
  });
  await registry.apply(cfg, IDENTITY);
  const dp = new FakeDataplane();
  const step = createMeshStep(dp);
  const affiliates = [
    remote("b", 2, ["192.0.2.99:51820", "192.0.2.2:51820"]),
    remote("c", 3, ["192.0.2.3:51820"]),
  ];
  // Stores what a pass returns, as the agent does.
  const pass = async (
    now: number,
    c = cfg,
    localPrefixes: readonly string[] = [],
  ) => {
    const out = await step.pass({
      config: c,
      identity: IDENTITY,
      remote: affiliates,
      hooks: registry.hooks,
      previous: new Map(
        store.list<PeerStatusSpec>("peerstatuses").map((r) => [r.id, r.spec]),
      ),
      log: silentLogger(),
      now,
      localPrefixes,
    });
    for (const type of ["peerspecs", "peerstatuses", "endpoints"] as const) {
      store.replaceAll<unknown>(type, out[type]);
    }
    return out;
  };
  const status = (k: string) =>
    store.get<PeerStatusSpec>("peerstatuses", k)!.spec;
  return { store, registry, dp, step, pass, status, affiliates };
}

Deno.test("mesh step configures every peer with PSK, keepalive, first endpoint and routing", async () => {
  const h = await harness(config());
  await h.pass(T0);
  assertEquals(
    h.dp.peers.get("KEY-b")!.persistentKeepaliveInterval,
    0,
    "KEY-b sorts below LOCAL: it initiates first, our keepalive follows",
  );
  await h.pass(T0 + 20);
  assertEquals(h.dp.link, {
    name: "kubespan",
    mtu: 1420,
    listenPort: 51820,
    firewallMark: 0x20,
  });
  const b = h.dp.peers.get("KEY-b")!;
  assertEquals([b.endpoint, b.persistentKeepaliveInterval, b.presharedKey], [
    "192.0.2.99:51820",
    25,
    SECRET,
  ]);
  assertEquals(b.allowedIPs, [
    "10.2.0.0/16",
    "192.0.2.2/32",
    "fd00:1:2:302::2/128",
  ]);
  assertEquals(h.status("KEY-b").state, "unknown");
  assertEquals(
    h.dp.routing!.nft.routedIPv4,
    ["10.2.0.0/15", "192.0.2.2/31"],
    "merged into minimal prefixes",
  );
  assertEquals(
    h.dp.routing!.nft.routedIPv6,
    [],
    "mesh /128s are inside the ULA /64 and not marked",
  );
  assertEquals(h.store.list("peerspecs").map((r) => r.id), ["KEY-b", "KEY-c"]);
});

Deno.test("mesh step is idempotent and cycles a dead endpoint to the live one", async () => {
  const h = await harness(config({ harvestExtraEndpoints: true }));
  await h.pass(T0);
  await h.pass(T0 + 20);
  assertEquals(h.dp.updates[1]!.map((u) => u.persistentKeepaliveInterval), [
    25,
    25,
  ], "the keepalive held on the first pass");
  await h.pass(T0 + 1000);
  assertEquals(h.dp.updates[2], [], "an unchanged pass sends nothing");
  h.dp.handshake("KEY-c", T0 + 2000);
  await h.pass(T0 + 30_000);
  assertEquals(h.status("KEY-c").state, "up");
  assertEquals(
    h.status("KEY-b").endpoint,
    "192.0.2.2:51820",
    "b was down on its first endpoint and moved on",
  );
  assertEquals(h.dp.peers.get("KEY-b")!.endpoint, "192.0.2.2:51820");
  h.dp.handshake("KEY-b", T0 + 31_000);
  await h.pass(T0 + 32_000);
  assertEquals(h.status("KEY-b").state, "up");
  const endpoints = h.store.list<EndpointSpec>("endpoints").map((
    r,
  ) => [r.id, r.spec.affiliateID, r.spec.endpoint]);
  assertEquals(endpoints, [["KEY-b", "b", "192.0.2.2:51820"], [
    "KEY-c",
    "c",
    "192.0.2.3:51820",
  ]]);
  assertEquals(h.dp.linkCreations, 1);
});

Deno.test("mesh step with allowDownPeerBypass routes only up peers through the tunnel", async () => {
  const cfg = config({ allowDownPeerBypass: true });
  const h = await harness(cfg);
  await h.pass(T0);
  assertEquals(h.dp.routing!.nft.routedIPv4, [], "no peer is up yet");
  h.dp.handshake("KEY-c", T0 + 1000);
  await h.pass(T0 + 2000);
  assertEquals(h.dp.routing!.nft.routedIPv4, ["10.3.0.0/16", "192.0.2.3/32"]);
  const strict = await harness(config());
  await strict.pass(T0);
  assertEquals(
    strict.dp.routing!.nft.routedIPv4.length > 0,
    true,
    "without bypass down peers stay forced",
  );
});

Deno.test("mesh step removes everything when kubespan is disabled", async () => {
  const h = await harness(config());
  await h.pass(T0);
  await h.pass(T0 + 1000, config({ enabled: false }));
  assertEquals(h.dp.cleanups, ["kubespan/edgespan"]);
  assertEquals([
    h.store.list("peerspecs").length,
    h.store.list("peerstatuses").length,
  ], [0, 0]);
  assertEquals(h.step.checks!().link!.ok, false);
});

Deno.test("mesh step keeps the observed endpoints empty while harvestExtraEndpoints is off", async () => {
  const h = await harness(config({ harvestExtraEndpoints: true }));
  await h.pass(T0);
  h.dp.handshake("KEY-c", T0 + 1000);
  await h.pass(T0 + 2000);
  assertEquals(h.status("KEY-c").state, "up");
  assertEquals(h.store.list("endpoints").map((r) => r.id), ["KEY-c"]);
  // Switching harvesting off empties the resource at the next pass.
  await h.pass(T0 + 3000, config());
  assertEquals(h.status("KEY-c").state, "up");
  assertEquals(h.store.list("endpoints"), []);

  const off = await harness(config());
  await off.pass(T0);
  off.dp.handshake("KEY-b", T0 + 1000);
  off.dp.handshake("KEY-c", T0 + 1000);
  await off.pass(T0 + 2000);
  assertEquals([off.status("KEY-b").state, off.status("KEY-c").state], [
    "up",
    "up",
  ]);
  assertEquals(off.store.list("endpoints"), [], "nothing observed by default");
});

Deno.test("mesh step removes a peer at once when its affiliate stops publishing KubeSpan data", async () => {
  const h = await harness(config());
  await h.pass(T0);
  assertEquals([...h.dp.peers.keys()].sort(), ["KEY-b", "KEY-c"]);
  // c now runs with kubespan.enabled: false: node data only.
  const { kubespan: _gone, ...nodeOnly } = h.affiliates[1]!;
  h.affiliates[1] = nodeOnly;
  await h.pass(T0 + 1000);
  assertEquals([...h.dp.peers.keys()], ["KEY-b"], "WireGuard peer removed");
  assertEquals(h.store.list("peerspecs").map((r) => r.id), ["KEY-b"]);
  assertEquals(h.store.list("peerstatuses").map((r) => r.id), ["KEY-b"]);
  assertEquals(
    h.dp.routing!.nft.routedIPv4,
    ["10.2.0.0/16", "192.0.2.2/32"],
    "its addresses are no longer forced into the tunnel",
  );
});

Deno.test("mesh step keeps what tunnelBypass plugins report out of the tunnel", async () => {
  const bypass = (name: string, fail: boolean) =>
    definePlugin({
      name,
      hooks: ["tunnelBypass"],
      version: "1",
      description: name,
      defaultEnabled: true,
      create: () => ({
        tunnelBypass: {
          destinations: () =>
            fail
              ? Promise.reject(new Error("no DNS"))
              : Promise.resolve(["10.2.0.5", "10.3.0.0"]),
          replyPorts: () => [3000, 3000],
        },
      }),
    });
  const h = await harness(config(), [
    bypass("bypass-a", false),
    bypass("bypass-b", true),
  ]);
  await h.pass(T0);
  const nft = h.dp.routing!.nft;
  assertEquals(nft.bypassTcpSourcePorts, [3000]);
  assert(
    !nft.routedIPv4.includes("10.2.0.0/16") &&
      nft.routedIPv4.includes("10.2.0.4/32") &&
      nft.routedIPv4.includes("10.2.0.6/31"),
    `10.2.0.5 is cut out of the peer's prefix: ${nft.routedIPv4}`,
  );
  assert(!nft.routedIPv4.includes("10.3.0.0/16"));
  assertEquals(
    h.store.get<{ lastError: string }>("plugins", "bypass-b")!.spec.lastError,
    'Plugin "bypass-b" failed in destinations: no DNS',
    "a failing plugin is reported, routing is still applied",
  );
});

Deno.test("mesh step returns what it produced before the dataplane failed", async () => {
  const h = await harness(config());
  h.dp.updatePeers = () => Promise.reject(new Error("device gone"));
  const err = await h.step.pass({
    config: config(),
    identity: IDENTITY,
    remote: h.affiliates,
    hooks: h.registry.hooks,
    previous: new Map(),
    log: silentLogger(),
    now: T0,
  }).then(() => undefined, (e: unknown) => e);
  assert(err instanceof MeshPassError, String(err));
  assertEquals([...err.partial.peerspecs!.keys()], ["KEY-b", "KEY-c"]);
  assertEquals(err.partial.peerstatuses, undefined);
  assertEquals((err.cause as Error).message, "device gone");
  assertEquals(h.step.checks!().link!.ok, false);
});

Deno.test("mesh step with endpoint-search: a dead endpoint gives way after 2.5 s with a restarted handshake", async () => {
  const h = await harness(config({}, {}));
  await h.pass(T0);
  assertEquals(h.dp.peers.get("KEY-b")!.endpoint, "192.0.2.99:51820");
  await h.pass(T0 + 1000);
  assertEquals(h.dp.updates[1], [], "within a slot a pass sends nothing");
  await h.pass(T0 + 2500);
  const updates = h.dp.updates[2]!;
  assertEquals(
    updates.map((u) => [u.publicKey, u.remove ?? false, u.endpoint ?? ""]),
    [["KEY-b", true, ""], ["KEY-b", false, "192.0.2.2:51820"]],
    "b is removed and added again on its next endpoint; c (one endpoint) is left alone",
  );
  assertEquals(updates[1]!.persistentKeepaliveInterval, 25);
  assertEquals(
    updates[1]!.allowedIPs,
    [
      "10.2.0.0/16",
      "192.0.2.2/32",
      "fd00:1:2:302::2/128",
    ],
  );
  h.dp.handshake("KEY-b", T0 + 3000);
  await h.pass(T0 + 4000);
  await h.pass(T0 + 5000);
  assertEquals(
    [h.status("KEY-b").state, h.dp.peers.get("KEY-b")!.endpoint],
    ["up", "192.0.2.2:51820"],
    "an up peer keeps the endpoint that worked",
  );
  assertEquals(h.dp.updates.at(-1), [], "and is not restarted");
});

Deno.test("mesh step with endpoint-search: a peer that never answers is down with a reason after 30 s", async () => {
  const h = await harness(config({}, {}));
  for (let t = 0; t < 30_000; t += 2500) await h.pass(T0 + t);
  await h.pass(T0 + 29_999);
  assertEquals(
    [h.status("KEY-b").state, h.status("KEY-b").reason],
    ["unknown", undefined],
    "KubeSpan's unknown while candidates still change",
  );
  assertEquals(
    [h.status("KEY-c").state, h.status("KEY-c").reason],
    ["down", "no handshake on any of 1 endpoint since 2026-01-01T00:00:00Z"],
    "KubeSpan's own down (one endpoint, 15 s) gets its reason",
  );
  await h.pass(T0 + 30_000);
  assertEquals(
    [h.status("KEY-b").state, h.status("KEY-b").reason],
    ["down", "no handshake on any of 2 endpoints since 2026-01-01T00:00:00Z"],
  );
  const version = h.store.get("peerstatuses", "KEY-b")!.version;
  await h.pass(T0 + 42_000);
  assertEquals(
    [h.status("KEY-b").state, h.status("KEY-b").reason],
    ["down", "no handshake on any of 2 endpoints since 2026-01-01T00:00:00Z"],
  );
  assertEquals(
    h.store.get("peerstatuses", "KEY-b")!.version,
    version,
    "a down peer's status does not change from pass to pass",
  );
  h.dp.handshake("KEY-c", T0 + 43_000);
  await h.pass(T0 + 44_000);
  assertEquals(
    [h.status("KEY-c").state, h.status("KEY-c").reason],
    ["up", undefined],
    "the reason goes with the search",
  );
});

Deno.test("mesh step in KubeSpan mode gives no reason and no restart", async () => {
  const h = await harness(config());
  for (let t = 0; t <= 60_000; t += 2500) await h.pass(T0 + t);
  assertEquals(h.status("KEY-b").reason, undefined);
  assertEquals(h.status("KEY-c").reason, undefined);
  assert(
    h.dp.updates.flat().every((u) => !u.remove),
    "KubeSpan never removes a peer to switch its endpoint",
  );
});

Deno.test("mesh step with lan-preference orders a peer's endpoints by this box's subnets", async () => {
  const h = await harness(config({}, {}));
  h.affiliates.push(
    remote("d", 4, ["10.5.0.9:51820", "198.51.100.7:51820", "10.1.0.9:51820"]),
  );
  const out = await h.pass(T0, undefined, ["10.1.0.2/24"]);
  assertEquals(out.peerspecs.get("KEY-d")!.endpoints, [
    "10.1.0.9:51820",
    "198.51.100.7:51820",
    "10.5.0.9:51820",
  ]);
  assertEquals(h.dp.peers.get("KEY-d")!.endpoint, "10.1.0.9:51820");
  const kubespan = await harness(config());
  kubespan.affiliates.push(
    remote("d", 4, ["10.5.0.9:51820", "198.51.100.7:51820", "10.1.0.9:51820"]),
  );
  const plain = await kubespan.pass(T0, undefined, ["10.1.0.2/24"]);
  assertEquals(plain.peerspecs.get("KEY-d")!.endpoints, [
    "10.5.0.9:51820",
    "198.51.100.7:51820",
    "10.1.0.9:51820",
  ], "KubeSpan keeps the advertised order");
});

Deno.test("mesh step gives the endpoint hooks one pass context per pass (same id for every peer, a new id next pass)", async () => {
  const seen: string[] = [];
  const recorder = definePlugin({
    name: "pass-recorder",
    hooks: ["endpointFilter", "endpointOrder"],
    version: "1",
    description: "records the pass context",
    defaultEnabled: true,
    create: () => ({
      endpointFilter: {
        advertised: (a) => [...a],
        accepted(e, peer) {
          seen.push(
            `accepted ${peer.label} ${peer.pass.passId} ${peer.pass.now}`,
          );
          return [...e];
        },
      },
      endpointOrder: {
        order(e, context) {
          seen.push(`order ${context.label} ${context.pass.passId}`);
          return [...e];
        },
      },
    }),
  });
  const h = await harness(config(), [recorder]);
  await h.pass(T0);
  await h.pass(T0 + 1_000);
  assertEquals(seen, [
    `accepted edge-b 1 ${T0}`,
    "order edge-b 1",
    `accepted edge-c 1 ${T0}`,
    "order edge-c 1",
    `accepted edge-b 2 ${T0 + 1_000}`,
    "order edge-b 2",
    `accepted edge-c 2 ${T0 + 1_000}`,
    "order edge-c 2",
  ]);
});

Deno.test("mesh step re-adds a peer whose first handshake crossed ours (heard from, no handshake), unless its endpoint roamed", async () => {
  const h = await harness(config());
  await h.pass(T0);
  await h.pass(T0 + 20);
  // both sides initiated at once: each answered the other, neither finished
  for (const key of ["KEY-b", "KEY-c"]) h.dp.peers.get(key)!.receiveBytes = 240;
  h.dp.peers.get("KEY-c")!.endpoint = "198.51.100.9:40000"; // roamed (NAT)
  await h.pass(T0 + 40);
  await h.pass(T0 + 200);
  const last = h.dp.updates.at(-1)!;
  assertEquals(
    last.filter((u) => u.publicKey === "KEY-b").map((u) => u.remove ?? false),
    [true, false],
    "KEY-b (below LOCAL, ours to break) removed and added again",
  );
  assertEquals(
    last.filter((u) => u.publicKey === "KEY-c"),
    [],
    "KEY-c keeps its roamed endpoint",
  );
});

Deno.test("mesh step restarts every peer's handshake, endpoint kept, when a node address is gone (the underlay moved)", async () => {
  const h = await harness(config());
  const removedOrAdded = () =>
    h.dp.updates.at(-1)!.map((u) =>
      `${u.publicKey} ${
        u.remove
          ? "removed"
          : `added ${u.endpoint} ${u.persistentKeepaliveInterval}`
      }`
    );
  await h.pass(T0, undefined, ["192.0.2.10/24"]);
  await h.pass(T0 + 20, undefined, ["192.0.2.10/24", "198.51.100.1/24"]);
  assertEquals(
    (h.dp.updates.at(-1) ?? []).filter((u) => u.remove),
    [],
    "an address added breaks nothing",
  );
  const before = h.dp.updates.length;
  await h.pass(T0 + 40, undefined, ["192.0.2.110/24", "198.51.100.1/24"]);
  assertEquals(h.dp.updates.length, before + 1);
  assertEquals(removedOrAdded(), [
    "KEY-b removed",
    "KEY-b added 192.0.2.99:51820 25",
    "KEY-c removed",
    "KEY-c added 192.0.2.3:51820 25",
  ]);
  await h.pass(T0 + 60, undefined, ["192.0.2.110/24", "198.51.100.1/24"]);
  assertEquals(
    h.dp.updates.at(-1)!.filter((u) => u.remove),
    [],
    "once, not every pass",
  );
});
