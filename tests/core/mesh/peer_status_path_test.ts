import { stepPeerStatuses } from "../../../core/mesh/peer_status.ts";
import type { PathDecision } from "../../../core/plugins/types.ts";
import type {
  PeerSpecSpec,
  PeerStatusSpec,
} from "../../../core/resources/specs.ts";
import { assertEquals } from "../../_tools/assert.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const SPEC: PeerSpecSpec = {
  address: "fd00::2",
  allowedIPs: ["fd00::2/128"],
  endpoints: ["192.0.2.1:51820"],
  label: "edge-b",
};
const PREV: PeerStatusSpec = {
  endpoint: "192.0.2.1:51820",
  label: "edge-b",
  state: "down",
  receiveBytes: 0,
  transmitBytes: 0,
  lastHandshakeTime: "",
  lastUsedEndpoint: "192.0.2.1:51820",
  lastEndpointChange: new Date(T0).toISOString(),
};

function step(decision: PathDecision | undefined, now = T0 + 20_000) {
  const asked: string[] = [];
  const r = stepPeerStatuses({
    specs: new Map([["K", SPEC]]),
    previous: new Map([["K", PREV]]),
    stats: new Map(),
    now,
    nextEndpoint: () => {
      asked.push("nextEndpoint");
      return "198.51.100.9:51820";
    },
    restartHandshake: () => true,
    judge: () => {
      asked.push("judge");
      return { state: "down", reason: "searched" };
    },
    path: (key, status) => {
      asked.push(`path ${key} ${status.state}`);
      return decision;
    },
  });
  return { asked, status: r.statuses.get("K")!, peer: r.peers[0]! };
}

Deno.test("stepPeerStatuses() a path endpoint replaces peer selection and its judgement", () => {
  const r = step({
    path: "relay:r1",
    endpoint: "203.0.113.5:51900",
    restartHandshake: true,
    verdict: { state: "unknown", reason: "connecting through relay r1" },
  });
  assertEquals(r.asked, ["path K down"]);
  assertEquals(r.peer, {
    publicKey: "K",
    allowedIPs: SPEC.allowedIPs,
    endpoint: "203.0.113.5:51900",
    restartHandshake: true,
  });
  assertEquals(r.status.path, "relay:r1");
  assertEquals(r.status.lastUsedEndpoint, "203.0.113.5:51900");
  assertEquals(r.status.state, "unknown");
  assertEquals(r.status.reason, "connecting through relay r1");
});

Deno.test("stepPeerStatuses() a path without endpoint leaves selection to peer selection", () => {
  const r = step({ path: "direct" });
  assertEquals(r.asked, ["path K down", "nextEndpoint", "judge"]);
  assertEquals(r.peer.endpoint, "198.51.100.9:51820");
  assertEquals(r.status.path, "direct");
  assertEquals(r.status.reason, "searched");
});

Deno.test("stepPeerStatuses() the same path endpoint again is no switch and no restart", () => {
  const r = step({
    path: "relay:r1",
    endpoint: "192.0.2.1:51820",
    restartHandshake: true,
  });
  assertEquals(r.peer, {
    publicKey: "K",
    allowedIPs: SPEC.allowedIPs,
    endpoint: "192.0.2.1:51820",
  });
  assertEquals(r.status.lastEndpointChange, PREV.lastEndpointChange);
});

Deno.test("stepPeerStatuses() a held path endpoint is set again after WireGuard roamed away", () => {
  const decision = { path: "relay:r1", endpoint: "192.0.2.1:51820" };
  const roamed = (hold: boolean) =>
    stepPeerStatuses({
      specs: new Map([["K", SPEC]]),
      previous: new Map([["K", PREV]]),
      stats: new Map([["K", {
        endpoint: "203.0.113.5:51900",
        lastHandshakeTime: T0,
        receiveBytes: 10,
        transmitBytes: 10,
      }]]),
      now: T0 + 1_000,
      nextEndpoint: () => undefined,
      path: () => ({ ...decision, hold }),
    }).peers[0]!.endpoint;
  assertEquals(roamed(true), "192.0.2.1:51820");
  assertEquals(roamed(false), undefined, "not held: the roamed endpoint stays");
});
