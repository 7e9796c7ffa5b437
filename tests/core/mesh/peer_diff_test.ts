import { diffPeers } from "../../../core/mesh/peer_diff.ts";
import type { DevicePeer } from "../../../core/mesh/dataplane.ts";
import { assertEquals } from "../../_tools/assert.ts";

const COMMON = { presharedKey: "PSK", keepaliveSeconds: 25 };
const ON_DEVICE: DevicePeer = {
  publicKey: "K",
  endpoint: "192.0.2.1:51820",
  lastHandshakeTime: 0,
  receiveBytes: 0,
  transmitBytes: 148,
  allowedIPs: ["fd00::2/128"],
  persistentKeepaliveInterval: 25,
  hasPresharedKey: true,
};

Deno.test("diffPeers() restarts a peer's handshake as a remove followed by a full add", () => {
  assertEquals(
    diffPeers([ON_DEVICE], [{
      publicKey: "K",
      allowedIPs: ["fd00::2/128"],
      endpoint: "198.51.100.1:51820",
      restartHandshake: true,
    }], COMMON),
    [
      { publicKey: "K", remove: true },
      {
        publicKey: "K",
        presharedKey: "PSK",
        persistentKeepaliveInterval: 25,
        allowedIPs: ["fd00::2/128"],
        endpoint: "198.51.100.1:51820",
      },
    ],
  );
});

Deno.test("diffPeers() without a restart only sets the new endpoint", () => {
  assertEquals(
    diffPeers([ON_DEVICE], [{
      publicKey: "K",
      allowedIPs: ["fd00::2/128"],
      endpoint: "198.51.100.1:51820",
    }], COMMON),
    [{ publicKey: "K", endpoint: "198.51.100.1:51820" }],
  );
});

Deno.test("diffPeers() adds a new peer once even when a restart is asked", () => {
  assertEquals(
    diffPeers([], [{
      publicKey: "K",
      allowedIPs: ["fd00::2/128"],
      endpoint: "198.51.100.1:51820",
      restartHandshake: true,
    }], COMMON).map((u) => u.remove ?? false),
    [false],
  );
});
