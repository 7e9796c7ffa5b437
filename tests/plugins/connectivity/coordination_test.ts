import { testPluginContext } from "../../_tools/plugin_context.ts";
import { assertEquals } from "../../_tools/assert.ts";
import {
  alignedSearch,
  receiveProgress,
  scheduledEndpoint,
  SEARCH_TIMERS,
  searchedState,
} from "../../../plugins/connectivity/search.ts";
import { endpointSearchPlugin } from "../../../plugins/connectivity/plugin.ts";
import type { PluginContext } from "../../../core/plugins/types.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import type {
  AffiliateSpec,
  PeerSpecSpec,
  PeerStatusSpec,
} from "../../../core/resources/specs.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const EPS = ["198.51.100.12:51820", "10.2.0.12:51820"];

Deno.test("alignedSearch() golden: a later start of the peer's search wins, an earlier one or none changes nothing", () => {
  const s = { startedAt: T0, endpoints: EPS };
  assertEquals(alignedSearch(s, undefined, T0 + 50_000), s);
  assertEquals(alignedSearch(s, T0 - 1, T0 + 50_000), s, "peer aligns to us");
  assertEquals(alignedSearch(s, T0, T0 + 50_000), s);
  assertEquals(alignedSearch(s, T0 + 40_000, T0 + 50_000), {
    startedAt: T0 + 40_000,
    endpoints: EPS,
  });
  // Clock skew: a start in the future counts as now.
  assertEquals(
    alignedSearch(s, T0 + 60_000, T0 + 50_000).startedAt,
    T0 + 50_000,
  );
  // Aligned, the schedule is the peer's: fast slots from its start.
  const aligned = alignedSearch(s, T0 + 40_000, T0 + 50_000);
  assertEquals(
    [40_000, 42_499, 42_500, 45_000].map((ms) =>
      scheduledEndpoint(aligned, T0 + ms)
    ),
    [EPS[0], EPS[0], EPS[1], EPS[0]],
  );
});

Deno.test("searchedState(): an up peer that searches us since after our last receive has lost the session", () => {
  const p = receiveProgress(undefined, 500, T0);
  assertEquals(searchedState("up", p, T0 + 10_000, SEARCH_TIMERS), "up");
  assertEquals(
    searchedState("up", p, T0 + 10_000, SEARCH_TIMERS, T0 + 5_000),
    "unknown",
  );
  assertEquals(
    searchedState("up", p, T0 + 10_000, SEARCH_TIMERS, T0 - 5_000),
    "up",
    "it searched before our last receive: stale news",
  );
  assertEquals(
    searchedState("down", p, T0 + 10_000, SEARCH_TIMERS, T0 + 5_000),
    "down",
  );
});

/** The endpoint-search plugin as the local node "w1", peer "w2" at fd00::2. */
function plugin(affiliates: () => AffiliateSpec[], timers = SEARCH_TIMERS) {
  const abort = new AbortController();
  const reconciles: string[] = [];
  const ctx = testPluginContext({
    pluginName: "endpoint-search",
    identity: { nodeId: "w1" } as LocalIdentity,
    now: () => T0,
    signal: abort.signal,
    requestReconcile: (r) => reconciles.push(r),
    listResources: ((type: string) =>
      type === "affiliates"
        ? affiliates().map((spec) => ({ id: spec.nodeId, spec }))
        : []) as PluginContext["listResources"],
  });
  return {
    p: endpointSearchPlugin.create(ctx, timers),
    abort,
    reconciles,
  };
}

function w2(searching?: { since: number }): AffiliateSpec {
  return {
    nodeId: "w2",
    hostname: "w2",
    nodename: "w2",
    machineType: "worker",
    operatingSystem: "edgespan",
    addresses: ["10.2.0.12"],
    kubespan: {
      publicKey: "KEY2",
      address: "fd00::2",
      additionalAddresses: [],
      endpoints: EPS,
      excludeAdvertisedNetworks: [],
    },
    ...(searching
      ? {
        edgespan: {
          advertised: EPS,
          observed: [],
          searching: [{ affiliateID: "w1", since: searching.since }],
        },
      }
      : {}),
    sources: ["test"],
  };
}

/**
 * w1 has searched w2 for 40 s (down: 15 s a candidate). w2 restarts at
 * +47 s and announces its search of w1. Which endpoint does w1 try when?
 */
function restartRun(announce: boolean, timers = SEARCH_TIMERS): string[] {
  let peer = w2();
  const { p, abort } = plugin(() => [peer], timers);
  try {
    const spec = { address: "fd00::2", endpoints: EPS } as PeerSpecSpec;
    let last = "";
    const log: string[] = [];
    for (let t = 0; t <= 60_000; t += 500) {
      if (announce && t === 47_000) peer = w2({ since: T0 + 47_000 });
      const status = {
        state: t < 30_000 ? "unknown" : "down",
        receiveBytes: 0,
        lastUsedEndpoint: last,
      } as PeerStatusSpec;
      const next = p.peerSelection.nextEndpoint(status, spec, T0 + t);
      if (next !== undefined) {
        last = next;
        if (t >= 40_000) log.push(`${t / 1000} s ${next}`);
      }
    }
    return log;
  } finally {
    abort.abort();
  }
}

Deno.test("endpoint-search: a peer's announced search realigns a slow (down) search to its fast schedule", () => {
  // Without the announcement: 15 s slots from 30 s; w2's public endpoint
  // (slot 12 at 30 s) comes again only at 60 s.
  assertEquals(restartRun(false), [
    "45 s 10.2.0.12:51820",
    "60 s 198.51.100.12:51820",
  ]);
  // With it: w1 restarts its search at w2's start (47 s), slot 0 (the
  // public endpoint) at once, then 2.5 s slots in step with w2.
  assertEquals(restartRun(true).slice(0, 4), [
    "45 s 10.2.0.12:51820",
    "47 s 198.51.100.12:51820",
    "49.5 s 10.2.0.12:51820",
    "52 s 198.51.100.12:51820",
  ]);
});

Deno.test("endpoint-search: announces the peers it searches, since when, and none once they are up", () => {
  const { p, abort, reconciles } = plugin(() => [w2()]);
  try {
    const spec = { address: "fd00::2", endpoints: EPS } as PeerSpecSpec;
    const ask = (state: "unknown" | "up", t: number) =>
      p.peerSelection.nextEndpoint(
        { state, receiveBytes: state === "up" ? 100 : 0 } as PeerStatusSpec,
        spec,
        T0 + t,
      );
    assertEquals(p.peerSelection.searches?.(), []);
    ask("unknown", 1_000);
    assertEquals(p.peerSelection.searches?.(), [
      { affiliateID: "w2", since: T0 + 1_000 },
    ]);
    assertEquals(reconciles.includes("peer search started"), true);
    ask("up", 3_000);
    assertEquals(p.peerSelection.searches?.(), []);
  } finally {
    abort.abort();
  }
});

Deno.test("endpoint-search with coordinate: false neither announces nor aligns", () => {
  const off = { ...SEARCH_TIMERS, coordinate: false };
  assertEquals(restartRun(true, off), restartRun(false));
  const { p, abort } = plugin(() => [w2()], off);
  try {
    p.peerSelection.nextEndpoint(
      { state: "unknown", receiveBytes: 0 } as PeerStatusSpec,
      { address: "fd00::2", endpoints: EPS } as PeerSpecSpec,
      T0,
    );
    assertEquals(p.peerSelection.searches?.(), []);
  } finally {
    abort.abort();
  }
});

Deno.test("endpoint-search: aligned to a peer that just started, the current candidate gets a fresh handshake once", () => {
  // Lab scenario 5: w1's first initiation reached w2 before w2 knew w1
  // (dropped); w2 then announces a search that began 65 ms after ours.
  let peer = w2();
  const { p, abort } = plugin(() => [peer]);
  try {
    const spec = { address: "fd00::2", endpoints: EPS } as PeerSpecSpec;
    const ask = (t: number, last: string) =>
      p.peerSelection.nextEndpoint(
        {
          state: "unknown",
          receiveBytes: 0,
          lastUsedEndpoint: last,
        } as PeerStatusSpec,
        spec,
        T0 + t,
      );
    assertEquals(ask(0, ""), EPS[0]);
    assertEquals(ask(1_000, EPS[0]!), undefined);
    peer = w2({ since: T0 + 65 });
    assertEquals(ask(1_100, EPS[0]!), EPS[0], "the same endpoint, re-added");
    assertEquals(
      p.peerSelection.restartHandshake?.({} as PeerStatusSpec, spec, T0),
      true,
    );
    assertEquals(ask(1_200, EPS[0]!), undefined, "only once");
    // Its slots now run from the peer's start: slot 1 at 2.565 s.
    assertEquals(ask(2_564, EPS[0]!), undefined);
    assertEquals(ask(2_565, EPS[0]!), EPS[1]);
  } finally {
    abort.abort();
  }
});
