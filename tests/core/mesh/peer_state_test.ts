import { peerState } from "../../../core/mesh/peer_state.ts";
import { assertEquals } from "../../_tools/assert.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const s = (seconds: number) => NOW - seconds * 1000;

// Table from KubeSpan's peer status tests (kubespan-facts.md §4.3).
Deno.test("peerState() follows KubeSpan's table", () => {
  const cases: [string, number, number, string, string][] = [
    ["no endpoint ever", 0, 0, "", "unknown"],
    ["handshake and change 550 s ago", s(550), s(550), "1.2.3.4:51820", "down"],
    ["change 7.5 s ago, no handshake", 0, s(7.5), "1.2.3.4:51820", "unknown"],
    ["change 7.5 s ago, handshake now", NOW, s(7.5), "1.2.3.4:51820", "up"],
    [
      "change just over 15 s ago, handshake now",
      NOW,
      s(15.001),
      "1.2.3.4:51820",
      "up",
    ],
    [
      "change just over 15 s ago, handshake 30 s ago",
      s(30),
      s(15.001),
      "1.2.3.4:51820",
      "down",
    ],
    [
      "change just over 275 s ago, handshake 137.5 s ago",
      s(137.5),
      s(275.001),
      "1.2.3.4:51820",
      "up",
    ],
    [
      "change 100 s ago, never a handshake, never an endpoint",
      0,
      s(100),
      "",
      "unknown",
    ],
  ];
  for (const [name, hs, ec, last, want] of cases) {
    assertEquals(
      peerState({
        lastHandshakeTime: hs,
        lastEndpointChange: ec,
        lastUsedEndpoint: last,
      }, NOW),
      want,
      name,
    );
  }
});

Deno.test("peerState() boundaries are strict and timers are injectable", () => {
  const at15 = {
    lastHandshakeTime: 0,
    lastEndpointChange: s(15),
    lastUsedEndpoint: "x:1",
  };
  assertEquals(
    peerState(at15, NOW),
    "down",
    "exactly 15 s is no longer within the connection timeout",
  );
  const fast = { endpointConnectionTimeoutMs: 1000, peerDownIntervalMs: 5000 };
  assertEquals(
    peerState(
      {
        lastHandshakeTime: 0,
        lastEndpointChange: s(2),
        lastUsedEndpoint: "x:1",
      },
      NOW,
      fast,
    ),
    "down",
  );
  assertEquals(
    peerState(
      {
        lastHandshakeTime: s(4),
        lastEndpointChange: s(6),
        lastUsedEndpoint: "x:1",
      },
      NOW,
      fast,
    ),
    "up",
  );
});

Deno.test("parseTestTimers() reads the test-only override", async () => {
  const { parseTestTimers } = await import("../../../core/mesh/test_timers.ts");
  assertEquals(parseTestTimers(undefined), undefined);
  assertEquals(parseTestTimers("connect=1s,down=6s"), {
    endpointConnectionTimeoutMs: 1000,
    peerDownIntervalMs: 6000,
  });
  let threw = false;
  try {
    parseTestTimers("fast=1s");
  } catch {
    threw = true;
  }
  assertEquals(threw, true);
});
