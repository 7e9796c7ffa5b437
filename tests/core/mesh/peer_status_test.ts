import {
  type PeerStats,
  stepPeerStatuses,
} from "../../../core/mesh/peer_status.ts";
import { nextEndpoint } from "../../../plugins/peer_selection/endpoint_cycling.ts";
import type {
  PeerSpecSpec,
  PeerStatusSpec,
} from "../../../core/resources/specs.ts";
import { assertEquals } from "../../_tools/assert.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const SPEC: PeerSpecSpec = {
  address: "fd00::2",
  allowedIPs: ["10.0.0.2/32", "fd00::2/128"],
  endpoints: ["192.0.2.1:51820", "198.51.100.1:51820"],
  label: "edge-b",
};

function run(
  previous: PeerStatusSpec | undefined,
  stats: PeerStats | undefined,
  now: number,
) {
  return stepPeerStatuses({
    specs: new Map([["K", SPEC]]),
    previous: new Map(previous ? [["K", previous]] : []),
    stats: new Map(stats ? [["K", stats]] : []),
    now,
    nextEndpoint: (s, spec) => nextEndpoint(s, spec),
  });
}

Deno.test("stepPeerStatuses() picks the first endpoint, then cycles while the peer stays down", () => {
  const first = run(undefined, undefined, T0);
  const s1 = first.statuses.get("K")!;
  assertEquals([s1.state, s1.endpoint, s1.lastEndpointChange], [
    "unknown",
    "192.0.2.1:51820",
    new Date(T0).toISOString(),
  ]);
  assertEquals(first.peers, [{
    publicKey: "K",
    allowedIPs: SPEC.allowedIPs,
    endpoint: "192.0.2.1:51820",
  }]);
  assertEquals(first.changes[0]?.endpointChanged, true);

  // 10 s later, no handshake: still within the connection timeout.
  const waiting = run(s1, {
    endpoint: "192.0.2.1:51820",
    lastHandshakeTime: 0,
    receiveBytes: 0,
    transmitBytes: 92,
  }, T0 + 10_000);
  assertEquals(waiting.statuses.get("K")!.state, "unknown");
  assertEquals(
    waiting.peers[0]!.endpoint,
    "192.0.2.1:51820",
    "re-established explicitly",
  );

  // 30 s later: down, so the next endpoint is tried.
  const moved = run(s1, {
    endpoint: "192.0.2.1:51820",
    lastHandshakeTime: 0,
    receiveBytes: 0,
    transmitBytes: 148,
  }, T0 + 30_000);
  const s3 = moved.statuses.get("K")!;
  assertEquals([s3.state, s3.endpoint, s3.transmitBytes], [
    "unknown",
    "198.51.100.1:51820",
    148,
  ]);
  assertEquals(moved.changes, [{
    publicKey: "K",
    label: "edge-b",
    from: "unknown",
    to: "unknown",
    endpoint: "198.51.100.1:51820",
    endpointChanged: true,
  }]);
});

Deno.test("stepPeerStatuses() marks a handshake up and keeps a roamed endpoint", () => {
  const chosen = run(undefined, undefined, T0).statuses.get("K")!;
  const up = run(chosen, {
    endpoint: "192.0.2.1:51820",
    lastHandshakeTime: T0 + 2000,
    receiveBytes: 1,
    transmitBytes: 2,
  }, T0 + 5000);
  const s = up.statuses.get("K")!;
  assertEquals(s.state, "up");
  assertEquals(up.changes.map((c) => `${c.from}->${c.to}`), ["unknown->up"]);
  // WireGuard roamed to a NAT address: no endpoint in the config so it stays.
  const roamed = run(s, {
    endpoint: "203.0.113.9:40000",
    lastHandshakeTime: T0 + 20_000,
    receiveBytes: 5,
    transmitBytes: 6,
  }, T0 + 25_000);
  assertEquals(roamed.statuses.get("K")!.endpoint, "203.0.113.9:40000");
  assertEquals(roamed.peers[0]!.endpoint, undefined);
  assertEquals(roamed.changes, [], "no change logged on a steady tick");
});

Deno.test("stepPeerStatuses() drops statuses of removed specs", () => {
  const r = stepPeerStatuses({
    specs: new Map(),
    previous: new Map([["gone", {} as PeerStatusSpec]]),
    stats: new Map(),
    now: T0,
    nextEndpoint: () => undefined,
  });
  assertEquals([r.statuses.size, r.peers.length], [0, 0]);
});

Deno.test("stepPeerStatuses() adopts a live session after an agent restart", () => {
  const live = {
    endpoint: "203.0.113.9:40000",
    lastHandshakeTime: T0 - 60_000,
    receiveBytes: 9,
    transmitBytes: 9,
  };
  const r = run(undefined, live, T0);
  const s = r.statuses.get("K")!;
  assertEquals([s.state, s.endpoint, s.lastUsedEndpoint], [
    "up",
    "203.0.113.9:40000",
    "203.0.113.9:40000",
  ]);
  assertEquals(
    r.peers[0]!.endpoint,
    "203.0.113.9:40000",
    "re-established as is, not re-selected",
  );
  const stale = run(
    undefined,
    { ...live, lastHandshakeTime: T0 - 400_000 },
    T0,
  );
  const st = stale.statuses.get("K")!;
  assertEquals(
    [st.state, st.endpoint],
    ["unknown", "192.0.2.1:51820"],
    "an old session is not trusted: cycle from the spec",
  );
});

Deno.test("stepPeerStatuses() restarts the handshake on a switch only when asked", () => {
  const first = run(undefined, undefined, T0).statuses.get("K")!;
  const stats = {
    endpoint: "192.0.2.1:51820",
    lastHandshakeTime: 0,
    receiveBytes: 0,
    transmitBytes: 148,
  };
  const step = (restart: boolean, now: number) =>
    stepPeerStatuses({
      specs: new Map([["K", SPEC]]),
      previous: new Map([["K", first]]),
      stats: new Map([["K", stats]]),
      now,
      nextEndpoint: (s, spec) => nextEndpoint(s, spec),
      restartHandshake: () => restart,
    }).peers[0]!;
  assertEquals(step(true, T0 + 30_000), {
    publicKey: "K",
    allowedIPs: SPEC.allowedIPs,
    endpoint: "198.51.100.1:51820",
    restartHandshake: true,
  });
  assertEquals(step(false, T0 + 30_000).restartHandshake, undefined);
  assertEquals(
    step(true, T0 + 5_000).restartHandshake,
    undefined,
    "no switch, no restart",
  );
});

Deno.test("stepPeerStatuses() lets a judge override the state with a reason, after selection", () => {
  const first = run(undefined, undefined, T0).statuses.get("K")!;
  const seen: string[] = [];
  const r = stepPeerStatuses({
    specs: new Map([["K", SPEC]]),
    previous: new Map([["K", first]]),
    stats: new Map(),
    now: T0 + 30_000,
    nextEndpoint: (s, spec) => nextEndpoint(s, spec),
    judge: (s) => {
      seen.push(`${s.state} ${s.endpoint}`);
      return {
        state: "down",
        reason: "no handshake on any of 2 endpoints for 30s",
      };
    },
  });
  assertEquals(seen, ["unknown 198.51.100.1:51820"], "judged after the switch");
  const s = r.statuses.get("K")!;
  assertEquals([s.state, s.reason], [
    "down",
    "no handshake on any of 2 endpoints for 30s",
  ]);
  assertEquals(r.changes.map((c) => c.to), ["down"]);
  // Without a judge (KubeSpan) there is no reason field at all.
  const plain = run(first, undefined, T0 + 30_000).statuses.get("K")!;
  assertEquals("reason" in plain, false);
});

Deno.test("stepPeerStatuses() keeps stateSince while the state holds and reports how long the old state lasted", () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  const first = run(undefined, undefined, T0);
  const s0 = first.statuses.get("K")!;
  assertEquals([s0.state, s0.stateSince], ["unknown", iso(T0)]);
  // Handshake at T0+5s: up since then.
  const stats = (hs: number): PeerStats => ({
    endpoint: "192.0.2.1:51820",
    lastHandshakeTime: hs,
    receiveBytes: 1,
    transmitBytes: 1,
  });
  const up = run(s0, stats(T0 + 5_000), T0 + 5_000);
  const s1 = up.statuses.get("K")!;
  assertEquals([s1.state, s1.stateSince], ["up", iso(T0 + 5_000)]);
  assertEquals(up.changes[0]?.fromDurationMs, 5_000);
  // Still up a minute later: the time does not move, no change.
  const still = run(s1, stats(T0 + 60_000), T0 + 65_000);
  assertEquals(still.statuses.get("K")!.stateSince, iso(T0 + 5_000));
  assertEquals(still.changes, []);
  // The handshake is old: down, and cycling moves on to the next endpoint
  // (unknown again); the new state starts now, the up lasted 395 s.
  const down = run(still.statuses.get("K")!, stats(T0 + 60_000), T0 + 400_000);
  const s3 = down.statuses.get("K")!;
  assertEquals([s3.state, s3.stateSince], ["unknown", iso(T0 + 400_000)]);
  assertEquals(down.changes[0]?.fromDurationMs, 395_000);
  assertEquals([s1.downSince, s3.downSince], [undefined, iso(T0 + 400_000)]);
  // A fresh handshake 40 s later: up, after 40 s not up.
  const back = run(s3, stats(T0 + 440_000), T0 + 440_000);
  const s4 = back.statuses.get("K")!;
  assertEquals([s4.state, s4.downSince], ["up", undefined]);
  assertEquals(back.changes[0]?.downForMs, 40_000);
  assertEquals(
    up.changes[0]?.downForMs,
    undefined,
    "the first up is no return",
  );
});
