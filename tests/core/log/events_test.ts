import {
  formatDuration,
  peerChangeEvent,
  trackDiscovery,
  type TrackedDiscovery,
} from "../../../core/log/events.ts";
import { assertEquals } from "../../_tools/assert.ts";

const T0 = Date.parse("2026-12-01T12:00:00.000Z");

Deno.test("formatDuration() writes durations as an operator reads them", () => {
  assertEquals(
    [0, 42_000, 60_000, 275_000, 3_600_000, 7_500_000, 90_000_000].map(
      formatDuration,
    ),
    ["0s", "42s", "1m", "4m35s", "1h", "2h5m", "1d1h"],
  );
});

Deno.test("peerChangeEvent() warns when a peer goes down, with how long it was up and why", () => {
  const base = {
    publicKey: "K",
    label: "edge-2",
    endpoint: "192.0.2.1:51820",
    endpointChanged: false,
  };
  assertEquals(
    peerChangeEvent({
      ...base,
      from: "up",
      to: "down",
      fromDurationMs: 395_000,
      reason: "no handshake on any of 2 endpoints since 2026-12-01T11:55:00Z",
    }),
    {
      level: "warn",
      msg: "peer down",
      fields: {
        peer: "K",
        label: "edge-2",
        from: "up",
        to: "down",
        endpoint: "192.0.2.1:51820",
        reason: "no handshake on any of 2 endpoints since 2026-12-01T11:55:00Z",
        wasUpFor: "6m35s",
      },
    },
  );
  // Leaving up to try another endpoint: a warning, not yet "down".
  const plain = peerChangeEvent({
    ...base,
    from: "up",
    to: "unknown",
    endpointChanged: true,
    fromDurationMs: 3_600_000,
  });
  assertEquals([
    plain.level,
    plain.msg,
    plain.fields.wasUpFor,
    plain.fields.reason,
  ], [
    "warn",
    "peer no longer up",
    "1h",
    "trying another endpoint: nothing arrived from the peer",
  ]);
  // Down later, with the plugin's reason.
  const down = peerChangeEvent({
    ...base,
    from: "unknown",
    to: "down",
    reason: "no handshake on any of 1 endpoint since 2026-12-01T12:00:00Z",
  });
  assertEquals([down.level, down.msg, down.fields.reason], [
    "warn",
    "peer down",
    "no handshake on any of 1 endpoint since 2026-12-01T12:00:00Z",
  ]);
  // Back up: how long it was not up (across unknown and down).
  const back = peerChangeEvent({
    ...base,
    from: "unknown",
    to: "up",
    fromDurationMs: 2_000,
    downForMs: 40_000,
  });
  assertEquals([back.level, back.msg, back.fields.wasDownFor], [
    "info",
    "peer up",
    "40s",
  ]);
  // The first time up: no "down for".
  const first = peerChangeEvent({
    ...base,
    from: "unknown",
    to: "up",
    fromDurationMs: 900,
  });
  assertEquals([first.msg, first.fields.wasDownFor], ["peer up", undefined]);
  assertEquals(
    peerChangeEvent({
      ...base,
      from: "unknown",
      to: "unknown",
      endpointChanged: true,
    }).msg,
    "peer endpoint selected",
  );
});

Deno.test("trackDiscovery() keeps since-times and logs a lost and a regained connection", () => {
  const up = {
    name: "discovery-service",
    state: "connected" as const,
    detail: "https://d:443",
  };
  const start = trackDiscovery(new Map(), [{
    ...up,
    state: "connecting",
    detail: "not started",
  }], T0 - 500);
  assertEquals(start.events, [], "the first look is no transition");
  const first = trackDiscovery(start.tracked, [up], T0);
  assertEquals(
    first.events.map((e) => [e.level, e.msg]),
    [["info", "discovery connected"]],
    "the first connection is not a regain",
  );
  const same = trackDiscovery(first.tracked, [up], T0 + 10_000);
  assertEquals(same.tracked.get(up.name)?.since, T0);
  const lost = trackDiscovery(same.tracked, [{
    ...up,
    state: "connecting",
    detail: "connection refused",
  }], T0 + 125_000);
  assertEquals(lost.events, [{
    level: "warn",
    msg: "discovery connection lost",
    fields: {
      plugin: "discovery-service",
      from: "connected",
      to: "connecting",
      wasUpFor: "2m5s",
      error: "connection refused",
    },
  }]);
  const back = trackDiscovery(lost.tracked, [up], T0 + 185_000);
  assertEquals(back.events.map((e) => [e.level, e.msg, e.fields.wasDownFor]), [
    ["info", "discovery connection regained", "1m"],
  ]);
  assertEquals(
    (back.tracked.get(up.name) as TrackedDiscovery).since,
    T0 + 185_000,
  );
});
