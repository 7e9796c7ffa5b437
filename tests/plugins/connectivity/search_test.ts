import { testPluginContext } from "../../_tools/plugin_context.ts";
import {
  holdsSwitch,
  nextWake,
  receiveProgress,
  scheduledEndpoint,
  SEARCH_TIMERS,
  searchedState,
  searchState,
  searchVerdict,
} from "../../../plugins/connectivity/search.ts";
import { endpointSearchPlugin } from "../../../plugins/connectivity/plugin.ts";
import type {
  PeerSpecSpec,
  PeerStatusSpec,
} from "../../../core/resources/specs.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const EPS = ["a:1", "b:1", "c:1"];

Deno.test("searchState() starts on first sight, keeps its start, restarts when candidates change, ends when up", () => {
  const s = searchState(undefined, "unknown", EPS, T0)!;
  assertEquals(s, { startedAt: T0, endpoints: EPS });
  assert(
    searchState(s, "down", [...EPS], T0 + 9_000) === s,
    "same search kept",
  );
  assertEquals(searchState(s, "down", ["c:1", "a:1"], T0 + 9_000), {
    startedAt: T0 + 9_000,
    endpoints: ["c:1", "a:1"],
  });
  assertEquals(searchState(s, "up", EPS, T0 + 9_000), undefined);
});

// Golden vector of the schedule: 2.5 s per candidate, wrapping.
Deno.test("scheduledEndpoint() golden schedule: each candidate 2.5 s, in order, wrapping", () => {
  const s = { startedAt: T0, endpoints: EPS };
  const at = [0, 2_499, 2_500, 4_999, 5_000, 7_499, 7_500, 10_000, 12_600];
  assertEquals(
    at.map((ms) => scheduledEndpoint(s, T0 + ms)),
    ["a:1", "a:1", "b:1", "b:1", "c:1", "c:1", "a:1", "b:1", "c:1"],
  );
  assertEquals(
    scheduledEndpoint({ startedAt: T0, endpoints: [] }, T0),
    undefined,
  );
  // A clock step backwards does not index before the first candidate.
  assertEquals(scheduledEndpoint(s, T0 - 5_000), "a:1");
});

Deno.test("scheduledEndpoint() golden: once down (30 s), each candidate gets 15 s", () => {
  const s = { startedAt: T0, endpoints: EPS };
  // 12 fast slots fill 30 s (slot 11 = c at 27.5 s); slot 12 starts at 30 s.
  const at = [27_500, 29_999, 30_000, 44_999, 45_000, 60_000, 75_000];
  assertEquals(
    at.map((ms) => scheduledEndpoint(s, T0 + ms)),
    ["c:1", "c:1", "a:1", "a:1", "b:1", "c:1", "a:1"],
  );
});

Deno.test("scheduledEndpoint(): only the last of 4 candidates works, it is tried 7.5 s in, not after 45 s", () => {
  const s = { startedAt: T0, endpoints: ["a:1", "b:1", "c:1", "d:1"] };
  const firstTry = [...Array(100).keys()].map((i) => i * 100).find((ms) =>
    scheduledEndpoint(s, T0 + ms) === "d:1"
  );
  assertEquals(firstTry, 3 * SEARCH_TIMERS.switchIntervalMs);
});

Deno.test("nextWake() is the next slot, or the verdict time when that comes first", () => {
  const s = { startedAt: T0, endpoints: EPS };
  assertEquals(nextWake(s, T0), T0 + 2_500);
  assertEquals(nextWake(s, T0 + 2_500), T0 + 5_000);
  assertEquals(nextWake(s, T0 + 29_000), T0 + 30_000);
  assertEquals(nextWake(s, T0 + 30_000), T0 + 45_000, "down: 15 s slots");
  assertEquals(nextWake(s, T0 + 46_000), T0 + 60_000);
});

Deno.test("searchVerdict() golden: KubeSpan's state for 30 s, then down with a reason", () => {
  const s = { startedAt: T0, endpoints: EPS };
  assertEquals(
    searchVerdict(undefined, "unknown", T0 + 60_000),
    undefined,
    "up peer",
  );
  assertEquals(searchVerdict(s, "unknown", T0 + 29_999), undefined);
  assertEquals(searchVerdict(s, "unknown", T0 + 30_000), {
    state: "down",
    reason: "no handshake on any of 3 endpoints since 2026-01-01T00:00:00Z",
  });
  assertEquals(
    searchVerdict(s, "unknown", T0 + 42_700),
    searchVerdict(s, "unknown", T0 + 30_000),
    "the verdict is stable while nothing changes (no per-pass churn)",
  );
  assertEquals(
    searchVerdict({ startedAt: T0, endpoints: ["a:1"] }, "unknown", T0 + 30_000)
      ?.reason,
    "no handshake on any of 1 endpoint since 2026-01-01T00:00:00Z",
  );
  assertEquals(
    searchVerdict({ startedAt: T0, endpoints: [] }, "unknown", T0 + 31_000)
      ?.reason,
    "no endpoints to try since 2026-01-01T00:00:00Z",
  );
});

Deno.test("searchVerdict() waits until every candidate was tried, even past 30 s", () => {
  const many = {
    startedAt: T0,
    endpoints: [...Array(14).keys()].map((i) => `e${i}:1`),
  };
  // 14 × 2.5 s = 35 s.
  assertEquals(searchVerdict(many, "unknown", T0 + 34_999), undefined);
  assertEquals(searchVerdict(many, "unknown", T0 + 35_000)?.state, "down");
});

Deno.test("searchVerdict() gives the state machine's early down its reason", () => {
  // One endpoint that never changes: KubeSpan says down after 15 s.
  const one = { startedAt: T0, endpoints: ["a:1"] };
  assertEquals(searchVerdict(one, "down", T0 + 16_000), {
    state: "down",
    reason: "no handshake on any of 1 endpoint since 2026-01-01T00:00:00Z",
  });
  assertEquals(searchVerdict(one, "unknown", T0 + 14_000), undefined);
});

// Golden: the receive counter's progress and the state the search goes by.
Deno.test("receiveProgress() / searchedState() golden: an up peer silent for 60 s is searched again", () => {
  let p = receiveProgress(undefined, 100, T0);
  assertEquals(p, { bytes: 100, grewAt: T0 });
  p = receiveProgress(p, 180, T0 + 25_000);
  assertEquals(p, { bytes: 180, grewAt: T0 + 25_000 });
  p = receiveProgress(p, 180, T0 + 50_000);
  assertEquals(p, { bytes: 180, grewAt: T0 + 25_000 }, "no growth");
  p = receiveProgress(p, 0, T0 + 60_000);
  assertEquals(p, { bytes: 0, grewAt: T0 + 25_000 }, "a reset is no growth");
  assertEquals(
    receiveProgress({ bytes: 180, grewAt: T0 }, 92, T0 + 70_000),
    { bytes: 92, grewAt: T0 + 70_000 },
    "a reset counter above 0: the new session received",
  );
  assertEquals(searchedState("up", p, T0 + 84_999), "up");
  assertEquals(searchedState("up", p, T0 + 85_000), "unknown");
  assertEquals(searchedState("down", p, T0 + 85_000), "down");
  assertEquals(
    searchedState("unknown", receiveProgress(undefined, 0, T0), T0),
    "unknown",
  );
});

function searchPlugin() {
  const abort = new AbortController();
  const ctx = testPluginContext({
    pluginName: "endpoint-search",
    now: () => T0,
    signal: abort.signal,
  });
  return { plugin: endpointSearchPlugin.create(ctx, SEARCH_TIMERS), abort };
}

Deno.test("endpoint-search: an up peer that goes silent (a changed NAT mapping) is searched after 60 s, not 275 s", () => {
  const { plugin, abort } = searchPlugin();
  try {
    const spec = {
      address: "fd00::2",
      endpoints: ["198.51.100.12:51820", "198.51.100.112:51820"],
    } as PeerSpecSpec;
    const status = (receiveBytes: number): PeerStatusSpec =>
      ({
        state: "up",
        receiveBytes,
        lastUsedEndpoint: "198.51.100.12:51820",
      }) as PeerStatusSpec;
    const ask = (bytes: number, at: number) =>
      plugin.peerSelection.nextEndpoint(status(bytes), spec, T0 + at);
    // Traffic flows every 25 s: no search.
    for (let t = 0; t <= 75_000; t += 25_000) {
      assertEquals(ask(1_000 + t, t), undefined, `at ${t} ms`);
    }
    assertEquals(
      plugin.peerSelection.restartHandshake?.(status(0), spec, T0),
      false,
    );
    // The mapping changes at 75 s: nothing more arrives.
    assertEquals(ask(76_000, 100_000), undefined, "silent for 25 s");
    assertEquals(ask(76_000, 134_999), undefined, "silent for 59.999 s");
    // Silent for 60 s: the search begins; its second slot is the new mapping.
    assertEquals(ask(76_000, 135_000), undefined, "slot 0 is the current one");
    assertEquals(ask(76_000, 137_500), "198.51.100.112:51820");
    assertEquals(
      plugin.peerSelection.restartHandshake?.(status(0), spec, T0),
      true,
    );
    // Traffic again (a new session on the new mapping): the search ends.
    assertEquals(ask(200, 140_000), undefined);
    assertEquals(
      plugin.peerSelection.restartHandshake?.(status(0), spec, T0),
      false,
    );
  } finally {
    abort.abort();
  }
});

Deno.test("holdsSwitch() golden: packets from the peer within the last 2.5 s hold the endpoint", () => {
  assertEquals(holdsSwitch({ bytes: 0, grewAt: T0 }, T0), false, "nothing yet");
  assertEquals(holdsSwitch({ bytes: 148, grewAt: T0 }, T0 + 2_499), true);
  assertEquals(holdsSwitch({ bytes: 148, grewAt: T0 }, T0 + 2_500), false);
});

Deno.test("endpoint-search: a peer reaching us from a mapping we could not guess is not re-added under it", () => {
  // Lab scenario 5: w2's advertised WAN:51820 belongs to w1; w2 initiates
  // from another port, which WireGuard roams to. Switching (re-adding the
  // peer) every 2.5 s would throw each of its handshakes away.
  const { plugin, abort } = searchPlugin();
  try {
    const spec = {
      address: "fd00::3",
      endpoints: ["10.2.0.12:51820", "198.51.100.12:51820"],
    } as PeerSpecSpec;
    const status = (receiveBytes: number, endpoint: string): PeerStatusSpec =>
      ({
        state: "unknown",
        receiveBytes,
        lastUsedEndpoint: endpoint,
      }) as PeerStatusSpec;
    const ask = (bytes: number, at: number, endpoint = "10.2.0.12:51820") =>
      plugin.peerSelection.nextEndpoint(status(bytes, endpoint), spec, T0 + at);
    assertEquals(ask(0, 0), undefined, "slot 0 is the current endpoint");
    assertEquals(
      ask(0, 2_500),
      "198.51.100.12:51820",
      "nothing received: search",
    );
    // An initiation arrives from 198.51.100.12:40123.
    assertEquals(ask(148, 4_000, "198.51.100.12:51820"), undefined);
    assertEquals(ask(148, 5_000, "198.51.100.12:51820"), undefined, "held");
    assertEquals(ask(240, 6_400, "198.51.100.12:51820"), undefined, "held");
    // Silent again for 2.5 s: the search goes on.
    assertEquals(
      ask(240, 8_900, "198.51.100.12:51820"),
      undefined,
      "slot 3 = b",
    );
    assertEquals(ask(240, 10_000, "198.51.100.12:51820"), "10.2.0.12:51820");
  } finally {
    abort.abort();
  }
});

Deno.test("endpoint-search: a switch within 500 ms of the peer's first handshake waits, so the peer's initiation can land", () => {
  // Lab scenario 5 (cp–w2): both ends learn of each other from one
  // discovery update; w2's first initiation reaches cp just as cp's list
  // grows by w2's public address. Re-adding w2 then would drop the session
  // w2 believes in (it stays silent until its own 60 s re-search).
  const { plugin, abort } = searchPlugin();
  try {
    const lanOnly = {
      address: "fd00::3",
      endpoints: ["10.2.0.12:51820"],
    } as PeerSpecSpec;
    const both = {
      address: "fd00::3",
      endpoints: ["198.51.100.12:51820", "10.2.0.12:51820"],
    } as PeerSpecSpec;
    const status = (endpoint: string, receiveBytes = 0): PeerStatusSpec =>
      ({
        state: "unknown",
        receiveBytes,
        lastUsedEndpoint: endpoint,
      }) as PeerStatusSpec;
    const sel = plugin.peerSelection;
    assertEquals(
      sel.nextEndpoint(status(""), lanOnly, T0),
      "10.2.0.12:51820",
      "a new peer is added at once",
    );
    assertEquals(
      sel.nextEndpoint(status("10.2.0.12:51820"), both, T0 + 40),
      undefined,
      "40 ms after the peer was added: no re-add yet",
    );
    assertEquals(
      sel.nextEndpoint(status("10.2.0.12:51820"), both, T0 + 499),
      undefined,
    );
    assertEquals(
      sel.nextEndpoint(status("10.2.0.12:51820"), both, T0 + 500),
      "198.51.100.12:51820",
      "500 ms on: the new first candidate, re-added",
    );
    assertEquals(
      sel.restartHandshake?.(status("10.2.0.12:51820"), both, T0 + 500),
      true,
    );
    // Had the initiation landed in between, its packets hold the endpoint.
    const held = searchPlugin();
    try {
      const p = held.plugin.peerSelection;
      p.nextEndpoint(status(""), lanOnly, T0);
      assertEquals(
        p.nextEndpoint(status("10.2.0.12:51820"), both, T0 + 40),
        undefined,
      );
      assertEquals(
        p.nextEndpoint(status("10.2.0.12:51820", 148), both, T0 + 500),
        undefined,
        "the peer reached us: held",
      );
    } finally {
      held.abort.abort();
    }
  } finally {
    abort.abort();
  }
});
