import {
  handshakeLanded,
  nextHandshakePoll,
} from "../../../core/reconcile/handshake_poll.ts";
import { peerStatus } from "../../_tools/peer_status.ts";
import { assertEquals } from "../../_tools/assert.ts";

const status = peerStatus;

Deno.test("nextHandshakePoll() looks again after 20, 40, 80 ... 250 ms while a peer waits, then leaves it to the tick", () => {
  const waiting = new Map([["A", status()], ["B", status({ state: "up" })]]);
  let poll = nextHandshakePoll(undefined, waiting, 0);
  const delays = [poll.delayMs];
  let now = 0;
  for (let i = 0; i < 6; i++) {
    now += poll.delayMs!;
    poll = nextHandshakePoll(poll.state, waiting, now);
    delays.push(poll.delayMs);
  }
  assertEquals(delays, [20, 40, 80, 160, 250, 250, 250]);
  assertEquals(
    nextHandshakePoll(poll.state, waiting, 15_000).delayMs,
    undefined,
  );
});

Deno.test("nextHandshakePoll() starts short again on progress and stops when every peer is up", () => {
  const one = new Map([["A", status()], ["B", status()]]);
  let poll = nextHandshakePoll(undefined, one, 0);
  poll = nextHandshakePoll(poll.state, one, 20);
  assertEquals(poll.delayMs, 40);
  const progress = new Map([["A", status({ state: "up" })], ["B", status()]]);
  poll = nextHandshakePoll(poll.state, progress, 60);
  assertEquals(poll.delayMs, 20, "a peer came up");
  const all = new Map([["A", status({ state: "up" })], [
    "B",
    status({ state: "up" }),
  ]]);
  assertEquals(nextHandshakePoll(poll.state, all, 80).delayMs, undefined);
  // a peer never given an endpoint is nothing to wait for
  const none = new Map([["A", status({ lastUsedEndpoint: "" })]]);
  assertEquals(nextHandshakePoll(undefined, none, 0).delayMs, undefined);
});

Deno.test("handshakeLanded(): only a handshake newer than the pass saw, on a peer that pass did not have up", () => {
  const t = "2026-12-01T10:00:00.000Z";
  const ms = Date.parse(t);
  const statuses = new Map([
    ["WAIT", status({ state: "unknown" })],
    ["SEEN", status({ state: "unknown", lastHandshakeTime: t })],
    ["UP", status({ state: "up", lastHandshakeTime: t })],
  ]);
  const look = (key: string, at: number) => [
    { publicKey: key, lastHandshakeTime: at },
  ];
  assertEquals(handshakeLanded(statuses, look("WAIT", 0)), false);
  assertEquals(handshakeLanded(statuses, look("WAIT", ms)), true);
  assertEquals(handshakeLanded(statuses, look("SEEN", ms)), false);
  assertEquals(handshakeLanded(statuses, look("SEEN", ms + 1)), true);
  assertEquals(handshakeLanded(statuses, look("UP", ms + 5_000)), false);
  assertEquals(handshakeLanded(statuses, look("NEW", ms)), false);
  assertEquals(handshakeLanded(statuses, []), false);
});
