/** The UAPI text codec: set requests, get replies, errno mapping. */
import { ExistsError, NetlinkError } from "../../../ffi/netlink/errors.ts";
import {
  encodeSet,
  hexToKey,
  keyToHex,
  parseGetReply,
  parseSetReply,
  uapiError,
} from "../../../ffi/wireguard/uapi_codec.ts";
import {
  assert,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "../../_tools/assert.ts";

const hex = (b: number) => b.toString(16).padStart(2, "0").repeat(32);
const key = (b: number) =>
  btoa(String.fromCharCode(...new Uint8Array(32).fill(b)));

Deno.test("keyToHex and hexToKey round-trip and reject bad input", () => {
  assertEquals(keyToHex(key(0xab)), hex(0xab));
  assertEquals(hexToKey(hex(0x01)), key(0x01));
  assertEquals(hexToKey(hex(0xfe).toUpperCase()), key(0xfe));
  assertThrows(() => keyToHex("short"), TypeError, "key");
  assertThrows(() => hexToKey("zz".repeat(32)), TypeError, "64 hex");
});

Deno.test("keyToHex agrees with the byte-by-byte decoding on every digit and form", () => {
  const slow = (b64: string) =>
    Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0"))
      .join("");
  // a seeded walk over byte values puts every base64 digit in every place
  let x = 7;
  for (let k = 0; k < 200; k++) {
    const bytes = new Uint8Array(32).map(() =>
      (x = (x * 1103515245 + 12345) >>> 0) >>> 24
    );
    const b64 = btoa(String.fromCharCode(...bytes));
    assertEquals(keyToHex(b64), slow(b64), b64);
  }
  // non-zero spare bits in the last digit ("…/=" vs "…8="): dropped, as atob does
  const spare = key(0xff).slice(0, 42) + "/=";
  assertEquals(keyToHex(spare), hex(0xff));
  // other spellings atob accepts still decode; bad digits still fail
  assertEquals(keyToHex(` ${key(0x10)}`), hex(0x10));
  assertEquals(keyToHex(key(0x20).slice(0, 43)), hex(0x20));
  assertThrows(() => keyToHex(key(0x30).slice(0, 42) + "!="), TypeError, "key");
  assertThrows(() => keyToHex("é".repeat(43) + "="), TypeError, "key");
});

Deno.test("encodeSet writes the device, then each peer with its flags", () => {
  const text = encodeSet({
    privateKey: key(1),
    listenPort: 51820,
    firewallMark: 0x4000,
    replacePeers: true,
    peers: [
      {
        publicKey: key(2),
        presharedKey: key(3),
        endpoint: "192.168.60.2:51820",
        persistentKeepaliveInterval: 25,
        replaceAllowedIPs: true,
        allowedIPs: ["10.8.0.2/32", "fd00::/64"],
      },
      { publicKey: key(4), remove: true, endpoint: "ignored:1" },
      { publicKey: key(5), updateOnly: true, endpoint: "[fd00::5]:7" },
    ],
  });
  assertEquals(text.split("\n"), [
    "set=1",
    `private_key=${hex(1)}`,
    "listen_port=51820",
    "fwmark=16384",
    "replace_peers=true",
    `public_key=${hex(2)}`,
    `preshared_key=${hex(3)}`,
    "endpoint=192.168.60.2:51820",
    "persistent_keepalive_interval=25",
    "replace_allowed_ips=true",
    "allowed_ip=10.8.0.2/32",
    "allowed_ip=fd00::/64",
    `public_key=${hex(4)}`,
    "remove=true",
    `public_key=${hex(5)}`,
    "update_only=true",
    "endpoint=[fd00::5]:7",
    "",
    "",
  ]);
});

Deno.test("encodeSet leaves absent fields out and rejects bad values", () => {
  assertEquals(encodeSet({}), "set=1\n\n");
  assertEquals(
    encodeSet({ peers: [{ publicKey: key(9) }] }),
    `set=1\npublic_key=${hex(9)}\n\n`,
  );
  assertThrows(() => encodeSet({ listenPort: 70000 }), RangeError, "70000");
  assertThrows(
    () => encodeSet({ peers: [{ publicKey: key(9), allowedIPs: ["a\nb"] }] }),
    TypeError,
    "allowed IP",
  );
  assertThrows(
    () => encodeSet({ privateKey: "bad" }),
    TypeError,
    "private key",
  );
});

Deno.test("parseGetReply reads a multi-peer reply with stats", () => {
  const reply = [
    `private_key=${hex(1)}`,
    "listen_port=51820",
    "fwmark=7",
    `public_key=${hex(2)}`,
    `preshared_key=${hex(0)}`,
    "protocol_version=1",
    "endpoint=192.168.60.2:51820",
    "last_handshake_time_sec=1700000000",
    "last_handshake_time_nsec=123456789",
    "tx_bytes=100",
    "rx_bytes=200",
    "persistent_keepalive_interval=25",
    "allowed_ip=10.8.0.2/32",
    "allowed_ip=fd00::2/128",
    `public_key=${hex(3)}`,
    `preshared_key=${hex(4)}`,
    "protocol_version=1",
    "last_handshake_time_sec=0",
    "last_handshake_time_nsec=0",
    "tx_bytes=0",
    "rx_bytes=0",
    "persistent_keepalive_interval=0",
    "future_key=whatever",
    "errno=0",
    "",
    "",
  ].join("\n");
  const r = parseGetReply(reply);
  assertEquals(r.privateKey, key(1));
  assertEquals([r.listenPort, r.firewallMark, r.errno], [51820, 7, 0]);
  assertEquals(r.peers.length, 2);
  assertEquals(r.peers[0], {
    publicKey: key(2),
    hasPresharedKey: false,
    endpoint: "192.168.60.2:51820",
    persistentKeepaliveInterval: 25,
    lastHandshakeTime: 1700000000123,
    receiveBytes: 200,
    transmitBytes: 100,
    allowedIPs: ["10.8.0.2/32", "fd00::2/128"],
    protocolVersion: 1,
  });
  assert(r.peers[1]!.hasPresharedKey);
  assertEquals(r.peers[1]!.lastHandshakeTime, 0);
  assertEquals(r.peers[1]!.endpoint, "");
});

Deno.test("parseGetReply: no private key, errno replies, truncation", () => {
  const r = parseGetReply(`private_key=${hex(0)}\nlisten_port=0\nerrno=0\n\n`);
  assertEquals([r.privateKey, r.peers.length], ["", 0]);
  assertEquals(parseGetReply("errno=-22\n\n").errno, -22);
  assertThrows(
    () => parseGetReply("listen_port=1\n"),
    SyntaxError,
    "truncated",
  );
  assertThrows(
    () => parseGetReply("listen_port=x\nerrno=0\n\n"),
    SyntaxError,
    "listen_port",
  );
});

Deno.test("parseSetReply and uapiError map errno to typed errors", () => {
  assertEquals(parseSetReply("errno=0\n\n"), 0);
  assertEquals(parseSetReply("errno=-98\n\n"), -98);
  assertThrows(() => parseSetReply(""), SyntaxError, "errno");
  assertEquals(uapiError("x", 0), undefined);
  const inval = uapiError('configure WireGuard device "wg0"', -22);
  assert(inval instanceof NetlinkError);
  assertEquals(inval.errnoName, "EINVAL");
  assertStringIncludes(
    inval.message,
    'Cannot configure WireGuard device "wg0"',
  );
  assertStringIncludes(inval.message, "check the configuration");
  const inuse = uapiError("x", -98);
  assertEquals(inuse?.errnoName, "EADDRINUSE");
  assertStringIncludes(inuse?.message ?? "", "pick another port");
  assert(uapiError("x", 17) instanceof ExistsError);
});
