import {
  crossedHandshakes,
  newHandshakeRaceState,
} from "../../../core/mesh/handshake_race.ts";
import type { DevicePeer } from "../../../core/mesh/dataplane.ts";
import { diffPeers } from "../../../core/mesh/peer_diff.ts";
import { assertEquals } from "../../_tools/assert.ts";

function peer(key: string, over: Partial<DevicePeer> = {}): DevicePeer {
  return {
    publicKey: key,
    endpoint: "192.0.2.1:51820",
    lastHandshakeTime: 0,
    receiveBytes: 240,
    transmitBytes: 240,
    allowedIPs: [],
    persistentKeepaliveInterval: 25,
    hasPresharedKey: true,
    ...over,
  };
}

Deno.test("crossedHandshakes() re-adds a peer heard from without a handshake for 150 ms, on the higher key's side only", () => {
  const state = newHandshakeRaceState();
  const peers = [peer("A"), peer("C")];
  // local key "B": A sorts below (we break the tie), C above (it does)
  assertEquals(crossedHandshakes("B", peers, 1000, state), []);
  assertEquals(crossedHandshakes("B", peers, 1100, state), []);
  assertEquals(crossedHandshakes("B", peers, 1150, state), ["A"]);
  // not again within a second, even if the symptom returns at once
  assertEquals(crossedHandshakes("B", peers, 1400, state), []);
  assertEquals(crossedHandshakes("B", peers, 2149, state), []);
  assertEquals(crossedHandshakes("B", peers, 2150, state), ["A"]);
});

Deno.test("crossedHandshakes() leaves peers alone that shook hands, sent nothing, or recovered", () => {
  const state = newHandshakeRaceState();
  const silent = peer("A", { receiveBytes: 0 });
  const done = peer("A1", { lastHandshakeTime: 5 });
  assertEquals(crossedHandshakes("B", [silent, done], 0, state), []);
  assertEquals(crossedHandshakes("B", [silent, done], 10_000, state), []);
  const stuck = peer("A2");
  assertEquals(crossedHandshakes("B", [stuck], 0, state), []);
  // recovers in between: the 150 ms start over
  assertEquals(
    crossedHandshakes("B", [peer("A2", { lastHandshakeTime: 9 })], 100, state),
    [],
  );
  assertEquals(crossedHandshakes("B", [stuck], 200, state), []);
  assertEquals(crossedHandshakes("B", [stuck], 349, state), []);
  assertEquals(crossedHandshakes("B", [stuck], 350, state), ["A2"]);
  // a peer gone from the device is forgotten
  crossedHandshakes("B", [], 400, state);
  assertEquals([state.since.size, state.restarted.size], [0, 0]);
});

const COMMON = { presharedKey: "PSK", keepaliveSeconds: 25 };

Deno.test("diffPeers() adds a peer whose key sorts below ours without the keepalive, and sets it on the next pass", () => {
  const common = { ...COMMON, localPublicKey: "M" };
  const want = (key: string) => ({
    publicKey: key,
    allowedIPs: ["fd00::2/128"],
    endpoint: "192.0.2.1:51820",
  });
  const added = diffPeers([], [want("A"), want("Z")], common);
  assertEquals(
    added.map((u) => [u.publicKey, u.persistentKeepaliveInterval]),
    [["A", 0], ["Z", 25]],
  );
  const next = diffPeers(
    [peer("A", {
      persistentKeepaliveInterval: 0,
      allowedIPs: ["fd00::2/128"],
    })],
    [want("A")],
    common,
  );
  assertEquals(next, [{ publicKey: "A", persistentKeepaliveInterval: 25 }]);
  // a restarted handshake must start at once
  assertEquals(
    diffPeers([], [{ ...want("A"), restartHandshake: true }], common)[0]!
      .persistentKeepaliveInterval,
    25,
  );
  // without our key (as before): every new peer gets it at once
  assertEquals(
    diffPeers([], [want("A")], COMMON)[0]!.persistentKeepaliveInterval,
    25,
  );
});
