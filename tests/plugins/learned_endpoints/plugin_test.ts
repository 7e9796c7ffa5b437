import { assertEquals } from "../../_tools/assert.ts";
import { learnedEndpointsPlugin } from "../../../plugins/learned_endpoints/mod.ts";
import type { PluginContext } from "../../../core/plugins/types.ts";
import type {
  AffiliateSpec,
  PeerStatusSpec,
} from "../../../core/resources/specs.ts";
import { silentLogger } from "../../../core/log/logger.ts";

const KEY = (n: number) =>
  btoa(String.fromCharCode(...new Uint8Array(32).fill(n)));
const T0 = Date.parse("2026-12-01T10:00:00Z");

function node(
  n: number,
  endpoints: string[],
  edgespan?: AffiliateSpec["edgespan"],
): AffiliateSpec {
  return {
    nodeId: `node-${n}`,
    hostname: `h${n}`,
    nodename: `h${n}`,
    machineType: "worker",
    operatingSystem: "edgespan",
    addresses: [`192.168.1.${n}`],
    kubespan: {
      publicKey: KEY(n),
      address: `fd00::${n}`,
      additionalAddresses: [],
      endpoints,
      excludeAdvertisedNetworks: [],
    },
    ...(edgespan ? { edgespan } : {}),
    sources: ["discovery-service"],
  };
}

function harness() {
  const state = {
    now: T0,
    passId: 1,
    reads: 0,
    affiliates: [] as AffiliateSpec[],
    statuses: [] as { id: string; spec: PeerStatusSpec }[],
  };
  const ctx = {
    pluginName: "learned-endpoints",
    identity: { nodeId: "node-1" },
    log: silentLogger(),
    now: () => state.now,
    signal: new AbortController().signal,
    oneShot: false,
    requestReconcile: () => {},
    listResources: (type: string) =>
      ++state.reads && type === "affiliates"
        ? state.affiliates.map((spec) => ({ id: spec.nodeId, spec }))
        : type === "peerstatuses"
        ? state.statuses
        : [],
  } as unknown as PluginContext;
  const plugin = learnedEndpointsPlugin.create(ctx, {});
  const accepted = (n: number) =>
    plugin.endpointFilter.accepted(
      state.affiliates.find((a) => a.nodeId === `node-${n}`)!.kubespan!
        .endpoints,
      {
        publicKey: KEY(n),
        label: `h${n}`,
        pass: { passId: state.passId, now: state.now },
      },
    );
  return { state, accepted, plugin };
}

Deno.test("learned-endpoints plugin: reads the agent's affiliates and orders a peer's observed mapping after its LAN candidate", () => {
  const h = harness();
  h.state.affiliates = [
    node(2, ["192.168.1.2:51820", "198.51.100.11:51820"], {
      advertised: ["192.168.1.2:51820", "198.51.100.11:51820"],
      observed: [],
    }),
    node(3, ["203.0.113.3:51820"], {
      advertised: ["203.0.113.3:51820"],
      observed: [{ affiliateID: "node-2", endpoint: "198.51.100.11:1024" }],
    }),
  ];
  assertEquals(h.accepted(2), [
    "192.168.1.2:51820",
    "198.51.100.11:1024",
    "198.51.100.11:51820",
  ]);
  assertEquals(h.accepted(3), ["203.0.113.3:51820"]);
});

Deno.test("learned-endpoints plugin: a harvested endpoint stays while this node's fresh session confirms it, then ages out", () => {
  const h = harness();
  const harvested = "198.51.100.11:2000";
  h.state.affiliates = [
    node(2, ["192.168.1.2:51820", harvested], {
      advertised: ["192.168.1.2:51820"],
      observed: [],
    }),
  ];
  const live = (handshakeAt: number): { id: string; spec: PeerStatusSpec } => ({
    id: KEY(2),
    spec: {
      endpoint: harvested,
      label: "h2",
      state: "up",
      receiveBytes: 1,
      transmitBytes: 1,
      lastHandshakeTime: new Date(handshakeAt).toISOString(),
      lastUsedEndpoint: "192.168.1.2:51820",
      lastEndpointChange: new Date(T0).toISOString(),
    },
  });
  // Pass after pass, 100 s apart; the handshake renews until +200 s.
  const seen: string[][] = [];
  for (let t = 0; t <= 700_000; t += 100_000) {
    h.state.now = T0 + t;
    h.state.passId++;
    h.state.statuses = [live(T0 + Math.min(t, 200_000))];
    seen.push(h.accepted(2));
  }
  const kept = ["192.168.1.2:51820", harvested];
  // Confirmed while the handshake is under 180 s old (up to +300 s), then
  // 240 s without confirmation: still there at +500 s, gone at +600 s.
  assertEquals(seen, [
    kept,
    kept,
    kept,
    kept,
    kept,
    kept,
    ["192.168.1.2:51820"],
    ["192.168.1.2:51820"],
  ]);
});

Deno.test("learned-endpoints plugin: reads the resources once per mesh pass, by the pass id, not by guessing", () => {
  const h = harness();
  const own = ["192.168.1.2:51820", "198.51.100.11:51820"];
  const ext = { advertised: own, observed: [] };
  h.state.affiliates = [node(2, own, ext), node(3, ["203.0.113.3:51820"])];
  // Pass 1 asks only for node 3.
  assertEquals(h.accepted(3), ["203.0.113.3:51820"]);
  // Node 3 now observes node 2 at its real mapping; pass 2 follows 0.5 s
  // later and asks for node 2 first: it must see the new observation.
  h.state.affiliates = [
    node(2, own, ext),
    node(3, ["203.0.113.3:51820"], {
      advertised: ["203.0.113.3:51820"],
      observed: [{ affiliateID: "node-2", endpoint: "198.51.100.11:1024" }],
    }),
  ];
  h.state.now = T0 + 500;
  h.state.passId = 2;
  assertEquals(h.accepted(2), [
    "192.168.1.2:51820",
    "198.51.100.11:1024",
    "198.51.100.11:51820",
  ]);
  // A slow pass (3) asks for both peers 1.5 s apart: one read of the
  // affiliates and the peer statuses serves both.
  h.state.passId = 3;
  const before = h.state.reads;
  h.accepted(2);
  h.state.now = T0 + 2_000;
  h.accepted(3);
  assertEquals(h.state.reads - before, 2, "affiliates + peerstatuses, once");
});

Deno.test("learned-endpoints plugin: appends this node's mapping as up peers observe it to what it publishes (for Talos peers)", () => {
  const h = harness();
  const status = (n: number, state: "up" | "down") => ({
    id: KEY(n),
    spec: { state, label: `h${n}` } as PeerStatusSpec,
  });
  h.state.affiliates = [
    node(1, ["192.168.1.1:51820", "198.51.100.10:51820"]),
    node(2, ["203.0.113.2:51820"], {
      advertised: ["203.0.113.2:51820"],
      observed: [{ affiliateID: "node-1", endpoint: "198.51.100.10:1024" }],
    }),
    node(3, ["203.0.113.3:51820"], {
      advertised: ["203.0.113.3:51820"],
      observed: [{ affiliateID: "node-1", endpoint: "198.51.100.10:3333" }],
    }),
  ];
  h.state.statuses = [status(2, "up"), status(3, "down")];
  const own = ["192.168.1.1:51820", "198.51.100.10:51820"];
  assertEquals(h.plugin.endpointFilter.appended?.(own), [
    "198.51.100.10:1024",
  ]);
  // node-2 goes down: the mapping stays 240 s, then it is gone.
  h.state.statuses = [status(2, "down"), status(3, "down")];
  h.state.now = T0 + 240_000;
  assertEquals(h.plugin.endpointFilter.appended?.(own), [
    "198.51.100.10:1024",
  ]);
  h.state.now = T0 + 240_001;
  assertEquals(h.plugin.endpointFilter.appended?.(own), []);
});
