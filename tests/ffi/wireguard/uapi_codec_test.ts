/** The UAPI text codec: set requests, get replies, errno mapping. */
import { ExistsError, NetlinkError } from "../../../ffi/netlink/errors.ts";
import {
  encodeSet,
  encodeSetBytes,
  hexToKey,
  keyToHex,
  parseGetReply,
  parseSetReply,
  replyComplete,
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

Deno.test("hexToKey agrees with btoa on every digit and place; a bad digit anywhere fails", () => {
  let x = 11;
  for (let k = 0; k < 200; k++) {
    const bytes = new Uint8Array(32).map(() =>
      (x = (x * 1103515245 + 12345) >>> 0) >>> 24
    );
    const hexKey = Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))
      .join("");
    const b64 = btoa(String.fromCharCode(...bytes));
    assertEquals(hexToKey(hexKey), b64, hexKey);
    assertEquals(hexToKey(hexKey.toUpperCase()), b64, hexKey);
  }
  for (let at = 0; at < 64; at++) {
    for (const c of ["g", " ", "\u00e9"]) {
      const bad = hex(0x5a).slice(0, at) + c + hex(0x5a).slice(at + 1);
      assertThrows(() => hexToKey(bad, "peer key"), TypeError, "peer key");
    }
  }
  assertThrows(() => hexToKey(hex(1).slice(1)), TypeError, "64 hex");
  assertThrows(() => hexToKey(hex(1) + "0"), TypeError, "64 hex");
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

// RFC 7748 §6.1 keys, base64 and the hex the RFC prints.
const ALICE_PRIV = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
const ALICE_PRIV_HEX =
  "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const ALICE_PUB = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
const ALICE_PUB_HEX =
  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const BOB_PRIV = "XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os=";
const BOB_PRIV_HEX =
  "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const BOB_PUB = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=";
const BOB_PUB_HEX =
  "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

Deno.test("encodeSetBytes: golden request bytes for a device with two peers", () => {
  const bytes = encodeSetBytes({
    privateKey: ALICE_PRIV,
    listenPort: 51820,
    firewallMark: 0xffffffff,
    replacePeers: true,
    peers: [
      {
        publicKey: BOB_PUB,
        presharedKey: BOB_PRIV,
        endpoint: "192.0.2.7:51820",
        persistentKeepaliveInterval: 0,
        replaceAllowedIPs: true,
        allowedIPs: ["10.8.0.2/32", "fd00:8::2/128"],
      },
      // no padding: not canonical, so decoded through atob
      {
        publicKey: ALICE_PUB.slice(0, 43),
        updateOnly: true,
        endpoint: "[2001:db8::1]:7",
        allowedIPs: [],
      },
    ],
  });
  const golden = "set=1\n" +
    `private_key=${ALICE_PRIV_HEX}\n` +
    "listen_port=51820\n" +
    "fwmark=4294967295\n" +
    "replace_peers=true\n" +
    `public_key=${BOB_PUB_HEX}\n` +
    `preshared_key=${BOB_PRIV_HEX}\n` +
    "endpoint=192.0.2.7:51820\n" +
    "persistent_keepalive_interval=0\n" +
    "replace_allowed_ips=true\n" +
    "allowed_ip=10.8.0.2/32\n" +
    "allowed_ip=fd00:8::2/128\n" +
    `public_key=${ALICE_PUB_HEX}\n` +
    "update_only=true\n" +
    "endpoint=[2001:db8::1]:7\n" +
    "\n";
  assertEquals(bytes, ascii(golden));
});

Deno.test("encodeSetBytes writes values as UTF-8 and checks them like encodeSet did", () => {
  // "ô" is C3 B4 in UTF-8; a lone surrogate becomes U+FFFD (EF BF BD), as
  // TextEncoder made it on the wire before
  assertEquals(
    encodeSetBytes({
      peers: [{
        publicKey: ALICE_PUB,
        endpoint: "h\u00f4st:1",
        allowedIPs: ["\ud800"],
      }],
    }),
    new Uint8Array([
      ...ascii(`set=1\npublic_key=${ALICE_PUB_HEX}\nendpoint=h`),
      0xc3,
      0xb4,
      ...ascii("st:1\nallowed_ip="),
      0xef,
      0xbf,
      0xbd,
      ...ascii("\n\n"),
    ]),
  );
  for (const bad of ["", "a=b", "a\nb", "\u00e9=1", "\u00e9\n"]) {
    assertThrows(
      () =>
        encodeSetBytes({ peers: [{ publicKey: ALICE_PUB, endpoint: bad }] }),
      TypeError,
      "endpoint",
    );
  }
  assertThrows(
    () => encodeSetBytes({ peers: [{ publicKey: "!".repeat(43) + "=" }] }),
    TypeError,
    "peer public key",
  );
  assertThrows(
    () => encodeSetBytes({ firewallMark: 2 ** 32 }),
    RangeError,
    "firewall mark",
  );
  assertThrows(
    () =>
      encodeSetBytes({
        peers: [{ publicKey: ALICE_PUB, persistentKeepaliveInterval: -1 }],
      }),
    RangeError,
    "keepalive",
  );
});

Deno.test("encodeSetBytes grows past its first size guess; encodeSet is its text", () => {
  // one peer with 2000 allowed IPs is far over the per-peer guess
  const ips = Array.from(
    { length: 2000 },
    (_, i) => `fd00:${i.toString(16)}::/64`,
  );
  const peers = [
    { publicKey: ALICE_PUB, allowedIPs: ips },
    ...Array.from({ length: 300 }, (_, i) => ({
      publicKey: key(i & 255),
      endpoint: `198.51.100.${i & 255}:${1000 + i}`,
      allowedIPs: [`10.9.${i >> 8}.${i & 255}/32`],
    })),
  ];
  const lines = ["set=1", `public_key=${ALICE_PUB_HEX}`];
  for (const ip of ips) lines.push(`allowed_ip=${ip}`);
  for (let i = 0; i < 300; i++) {
    lines.push(
      `public_key=${hex(i & 255)}`,
      `endpoint=198.51.100.${i & 255}:${1000 + i}`,
      `allowed_ip=10.9.${i >> 8}.${i & 255}/32`,
    );
  }
  const text = lines.join("\n") + "\n\n";
  assertEquals(encodeSetBytes({ peers }), ascii(text));
  assertEquals(encodeSet({ peers }), text);
});

Deno.test("replyComplete finds the errno line and blank line at the end", () => {
  const done = (text: string) =>
    replyComplete(ascii(text + "junk"), text.length);
  for (
    const text of [
      "errno=0\n\n",
      "errno=-22\n\n",
      "listen_port=1\nerrno=0\n\n",
      "errno=12345\n\n",
    ]
  ) {
    assert(done(text), JSON.stringify(text));
  }
  for (
    const text of [
      "",
      "errno=0\n",
      "errno=\n\n",
      "errno=-\n\n",
      "errno=x\n\n",
      "xerrno=0\n\n",
      "listen_port=1\n",
      "errno=0\n\nlisten_port=1\n\n",
      "rrno=0\n\n",
      "errno=0 \n\n",
    ]
  ) {
    assert(!done(text), JSON.stringify(text));
  }
});
