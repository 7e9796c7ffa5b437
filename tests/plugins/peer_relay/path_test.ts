import {
  PATH_TIMERS,
  type PathInput,
  type PeerPath,
  stepPath,
} from "../../../plugins/peer_relay/path.ts";
import type { RelayChoice } from "../../../plugins/peer_relay/choice.ts";
import { assertEquals } from "../../_tools/assert.ts";

const T0 = 990_000; // a 30 s probe-slot boundary
const R1: RelayChoice = {
  relay: "r1",
  label: "relay1",
  endpoint: "203.0.113.50:51900",
};
const R2: RelayChoice = {
  relay: "r2",
  label: "relay2",
  endpoint: "203.0.113.66:51902",
};
const DIRECT = "198.51.100.12:51820";

function input(extra: Partial<PathInput>): PathInput {
  return {
    now: T0,
    state: "unknown",
    endpoint: DIRECT,
    receiveBytes: 0,
    lastHandshake: 0,
    candidates: [DIRECT, "10.2.0.11:51820"],
    choice: R1,
    probeOffset: 0,
    ...extra,
  };
}

Deno.test("stepPath() an up peer stays direct; a not-up one waits for the threshold", () => {
  const up = stepPath(undefined, input({ state: "up" }));
  assertEquals([up.path.kind, up.decision, up.wantRelay], [
    "direct",
    { path: "direct" },
    false,
  ]);
  const first = stepPath(undefined, input({}));
  assertEquals(first.path.kind === "direct" && first.path.notUpSince, T0);
  assertEquals([first.wantRelay, first.decision], [false, { path: "direct" }]);
  const later = stepPath(first.path, input({ now: T0 + 7_999 }));
  assertEquals(later.wantRelay, false);
  const noRelay = stepPath(
    first.path,
    input({ now: T0 + 8_000, choice: undefined }),
  );
  assertEquals([noRelay.wantRelay, noRelay.decision], [true, {
    path: "direct",
  }]);
});

Deno.test("stepPath() past the threshold with a shared relay: relayed, handshake restarted", () => {
  const first = stepPath(undefined, input({}));
  const r = stepPath(first.path, input({ now: T0 + 8_000 }));
  assertEquals(r.decision, {
    path: "relay:relay1",
    endpoint: R1.endpoint,
    restartHandshake: true,
    verdict: { state: "unknown", reason: "connecting through relay relay1" },
  });
  assertEquals(r.event, "relayed");
  assertEquals(r.path.kind, "relayed");
  // With a live session (the direct path just broke) the session is kept.
  const kept = stepPath(
    first.path,
    input({ now: T0 + 8_000, lastHandshake: T0 - 60_000 }),
  );
  assertEquals(kept.decision.restartHandshake, false);
});

/** Relayed at T0, with traffic through the leg since T0 + 1 s. */
function relayed(): PeerPath {
  const enter = stepPath(
    { kind: "direct", notUpSince: T0 - 8_000 },
    input({}),
  ).path;
  return stepPath(
    enter,
    input({
      now: T0 + 1_000,
      endpoint: R1.endpoint,
      receiveBytes: 92,
      lastHandshake: T0 + 500,
    }),
  ).path;
}

Deno.test("stepPath() traffic through the leg makes the relayed peer up", () => {
  const p = relayed();
  const r = stepPath(
    p,
    input({
      now: T0 + 2_000,
      endpoint: R1.endpoint,
      receiveBytes: 200,
      lastHandshake: T0 + 500,
    }),
  );
  assertEquals(r.decision, {
    path: "relay:relay1",
    endpoint: R1.endpoint,
    verdict: { state: "up", reason: "relayed through relay1" },
  });
  assertEquals(r.wantRelay, true);
});

Deno.test("stepPath() a packet from a direct source moves the pair back to direct on its session", () => {
  const p = relayed();
  const r = stepPath(
    p,
    input({
      now: T0 + 2_000,
      endpoint: "198.51.100.12:40404",
      receiveBytes: 300,
      lastHandshake: T0 + 500,
    }),
  );
  assertEquals(r.event, "direct again at 198.51.100.12:40404");
  assertEquals(r.decision, {
    path: "direct",
    endpoint: "198.51.100.12:40404",
    verdict: { state: "up", reason: "direct again, on the relayed session" },
  });
  // Kept until a handshake makes the state machine say up.
  const next = stepPath(
    r.path,
    input({ now: T0 + 3_000, receiveBytes: 400, state: "unknown" }),
  );
  assertEquals(next.decision.endpoint, "198.51.100.12:40404");
  assertEquals(
    stepPath(next.path, input({ now: T0 + 4_000, state: "up" })).decision,
    { path: "direct" },
  );
});

Deno.test("stepPath() probes the direct candidates in the pair's slot, then returns to the leg", () => {
  let p = relayed();
  let rx = 92;
  const pass = (now: number, endpoint: string) =>
    stepPath(
      p,
      input({
        now,
        endpoint,
        receiveBytes: rx += 100,
        lastHandshake: T0 + 500,
      }),
    );
  // The first slot boundary after half an interval since the switch.
  let r = pass(T0 + 29_000, R1.endpoint);
  assertEquals(r.decision.endpoint, R1.endpoint, "slot not yet changed");
  p = r.path;
  r = pass(T0 + 30_000, R1.endpoint);
  assertEquals([r.decision.endpoint, r.poke], [DIRECT, true]);
  p = r.path;
  // The other end's packets still come through the relay: WireGuard roams
  // back, and the probe holds its candidate.
  r = pass(T0 + 30_300, R1.endpoint);
  assertEquals([r.decision.endpoint, r.decision.hold], [DIRECT, true]);
  p = r.path;
  r = pass(T0 + 30_800, R1.endpoint);
  assertEquals([r.decision.endpoint, r.poke], ["10.2.0.11:51820", true]);
  p = r.path;
  r = pass(T0 + 31_000, R1.endpoint);
  p = r.path;
  r = pass(T0 + 31_600, R1.endpoint);
  assertEquals(r.decision.endpoint, R1.endpoint, "back on the leg");
  assertEquals(r.decision.hold, undefined);
  assertEquals(r.decision.verdict?.state, "up", "up all along");
  assertEquals(r.path.kind === "relayed" && r.path.probe, undefined);
  // A probe without answer: the next one waits two slots, then four.
  assertEquals(r.path.kind === "relayed" && r.path.misses, 1);
  p = r.path;
  r = pass(T0 + 60_000, R1.endpoint);
  assertEquals(r.decision.endpoint, R1.endpoint, "one slot later: not yet");
  p = r.path;
  r = pass(T0 + 90_000, R1.endpoint);
  assertEquals(r.decision.endpoint, DIRECT, "two slots later: the next probe");
});

Deno.test("stepPath() a dead relay hands over to the next one, else re-adds the peer on a direct candidate", () => {
  const p = relayed();
  const other = stepPath(
    p,
    input({
      now: T0 + 3_000,
      endpoint: R1.endpoint,
      receiveBytes: 92,
      choice: R2,
    }),
  );
  assertEquals(other.event, "relay now relay2");
  assertEquals(other.decision.endpoint, R2.endpoint);
  const gone = stepPath(
    p,
    input({
      now: T0 + 3_000,
      endpoint: R1.endpoint,
      receiveBytes: 92,
      choice: undefined,
    }),
  );
  assertEquals(gone.event, "relay relay1 is gone");
  assertEquals(gone.decision, {
    path: "direct",
    endpoint: DIRECT,
    restartHandshake: true,
  });
  assertEquals(gone.wantRelay, true);
  assertEquals(gone.path, { kind: "direct", notUpSince: T0 + 3_000 - 8_000 });
});

Deno.test("stepPath() a relay that passes nothing fails the pair after connectMs; silence after silentMs", () => {
  const enter = stepPath(
    { kind: "direct", notUpSince: T0 - 8_000 },
    input({}),
  ).path;
  const quiet = stepPath(
    enter,
    input({ now: T0 + PATH_TIMERS.connectMs, endpoint: R1.endpoint }),
  );
  assertEquals([quiet.event, quiet.failed], [
    "nothing came through relay relay1",
    "r1",
  ]);
  const silent = stepPath(
    relayed(),
    input({
      now: T0 + 1_000 + PATH_TIMERS.silentMs,
      endpoint: R1.endpoint,
      receiveBytes: 92,
    }),
  );
  assertEquals([silent.event, silent.failed], [
    "relay relay1 went silent",
    "r1",
  ]);
});

Deno.test("stepPath() a probe answered directly: back to direct", () => {
  let p = relayed();
  const at = (now: number, endpoint: string, rx: number) =>
    stepPath(
      p,
      input({ now, endpoint, receiveBytes: rx, lastHandshake: T0 + 500 }),
    );
  p = at(T0 + 29_000, R1.endpoint, 150).path;
  p = at(T0 + 30_000, R1.endpoint, 200).path; // probe DIRECT
  p = at(T0 + 30_200, DIRECT, 200).path; // first pass on it: not judged
  const r = at(T0 + 30_400, DIRECT, 300); // more came, still from DIRECT
  assertEquals(r.event, `direct again at ${DIRECT}`);
  assertEquals(r.decision.path, "direct");
});

Deno.test("stepPath() an up direct peer that stops answering is relayed at once, handshake restarted", () => {
  const at = (now: number, rx: number, tx: number, p?: PeerPath) =>
    stepPath(
      p,
      input({
        now,
        state: "up",
        receiveBytes: rx,
        transmitBytes: tx,
        lastHandshake: T0 - 5_000,
      }),
    );
  let r = at(T0, 1000, 1000);
  r = at(T0 + 5_000, 2000, 2000, r.path); // answers come
  // Pings go out, nothing comes back.
  r = at(T0 + 10_000, 2000, 3000, r.path);
  assertEquals(r.decision, { path: "direct" }, "5 s: not yet");
  r = at(T0 + 17_000, 2000, 4000, r.path);
  assertEquals(r.event, "direct path silent for 12s; relayed");
  assertEquals(r.decision.endpoint, R1.endpoint);
  assertEquals(r.decision.restartHandshake, true);
  // An idle pair (a keepalive out, none back yet) is not broken before 30 s.
  let idle = at(T0, 1000, 1000);
  idle = at(T0 + 20_000, 1000, 1032, idle.path);
  assertEquals(idle.decision, { path: "direct" });
  idle = at(T0 + 30_000, 1000, 1032, idle.path);
  assertEquals(idle.decision.path, "relay:relay1", "30 s without a keepalive");
});
