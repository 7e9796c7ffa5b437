import { recordPeerStatuses, Timeline } from "../../core/timeline.ts";
import { peerStatus } from "../_tools/peer_status.ts";
import { assertEquals } from "../_tools/assert.ts";

const status = peerStatus;

Deno.test("recordPeerStatuses() moves the device's handshake time onto the monotonic clock and keeps first times", () => {
  const timeline = new Timeline({ clock: () => 0, timeOrigin: 0 });
  const wall = Date.parse("2026-01-01T00:00:10.000Z");
  const statuses = new Map([
    ["A", status({ label: "a" })],
    [
      "B",
      status({
        label: "b",
        state: "up",
        lastHandshakeTime: "2026-01-01T00:00:09.750Z",
      }),
    ],
    // a wall clock ahead of ours never puts the handshake after now
    ["C", status({ label: "c", lastHandshakeTime: "2026-01-01T00:00:11Z" })],
  ]);
  recordPeerStatuses(timeline, statuses, { mono: 1000, wall });
  recordPeerStatuses(timeline, statuses, { mono: 2000, wall: wall + 1000 });
  assertEquals(timeline.snapshot().peers, {
    A: { label: "a", configured: 1000 },
    B: { label: "b", configured: 1000, handshake: 750, up: 1000 },
    C: { label: "c", configured: 1000, handshake: 1000 },
  });
});

Deno.test("recordPeerStatuses() forgets peers that left the mesh", () => {
  const timeline = new Timeline({ clock: () => 0, timeOrigin: 0 });
  const both = new Map([["A", status({})], ["B", status({})]]);
  recordPeerStatuses(timeline, both, { mono: 10, wall: 0 });
  recordPeerStatuses(timeline, new Map([["B", status({})]]), {
    mono: 20,
    wall: 0,
  });
  assertEquals(Object.keys(timeline.snapshot().peers), ["B"]);
  assertEquals(timeline.snapshot().peers.B!.configured, 10);
});

Deno.test("Timeline records the process's CPU time at the first occurrence of each step, when given a CPU clock", () => {
  let t = 10;
  let cpu: number | undefined = 4.04;
  const timeline = new Timeline({
    clock: () => t,
    timeOrigin: 1000,
    cpu: () => cpu,
  });
  timeline.mark("configReady");
  timeline.peer("K", "b", "known");
  t = 30;
  cpu = 9;
  timeline.mark("configReady"); // not the first time: keeps 4.0
  timeline.mark("apiReady");
  timeline.peer("K", "b", "known");
  timeline.peer("K", "b", "up");
  cpu = undefined; // the clock could not be read: no CPU for this step
  timeline.mark("firstPass");
  const snap = timeline.snapshot();
  assertEquals(snap.events, { configReady: 10, apiReady: 30, firstPass: 30 });
  assertEquals(snap.cpu, { configReady: 4, apiReady: 9 });
  assertEquals(snap.peers.K, {
    label: "b",
    known: 10,
    up: 30,
    cpu: { known: 4, up: 9 },
  });
  // Without a CPU clock the snapshot has no CPU at all.
  const plain = new Timeline({ clock: () => 1, timeOrigin: 0 });
  plain.mark("configReady");
  plain.peer("K", "b", "known");
  assertEquals(plain.snapshot(), {
    timeOrigin: 0,
    events: { configReady: 1 },
    peers: { K: { label: "b", known: 1 } },
  });
});
