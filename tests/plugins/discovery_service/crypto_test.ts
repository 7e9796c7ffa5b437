import { assert, assertEquals, assertThrows } from "../../_tools/assert.ts";
import {
  clusterKey,
  createClusterCipher,
  DiscoveryCryptoError,
} from "../../../plugins/discovery_service/crypto.ts";
import {
  decodeEndpoint,
  encodeEndpoint,
} from "../../../plugins/discovery_service/payload.ts";

const KEY = new Uint8Array(32).map((_, i) => i);
const hex = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("encodeEndpoint() matches the golden vector for 10.0.0.2:51820", () => {
  assertEquals(
    hex(encodeEndpoint("10.0.0.2:51820")),
    "0a 04 0a 00 00 02 10 ec 94 03",
  );
});

Deno.test("sealEndpoint() gives one block for IPv4 and two for IPv6, deterministically", () => {
  const c = createClusterCipher(KEY);
  const v4 = c.sealEndpoint(encodeEndpoint("10.0.0.2:51820"));
  assertEquals(v4.length, 16);
  assertEquals(hex(c.sealEndpoint(encodeEndpoint("10.0.0.2:51820"))), hex(v4));
  const v6 = c.sealEndpoint(encodeEndpoint("[2001:db8::1234:5678]:51820"));
  assertEquals(v6.length, 32);
  assertEquals(decodeEndpoint(c.openEndpoint(v4)), "10.0.0.2:51820");
  assertEquals(
    decodeEndpoint(c.openEndpoint(v6)),
    "[2001:db8::1234:5678]:51820",
  );
});

Deno.test("sealEndpoint() plaintext block is length byte, protobuf, zero padding", async () => {
  // Raw AES of the expected block via WebCrypto CBC with a zero IV (first block).
  const c = createClusterCipher(KEY);
  const block = new Uint8Array(16);
  block[0] = 10;
  block.set(encodeEndpoint("10.0.0.2:51820"), 1);
  const k = await crypto.subtle.importKey("raw", KEY, "AES-CBC", false, [
    "encrypt",
  ]);
  const cbc = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-CBC", iv: new Uint8Array(16) },
      k,
      block,
    ),
  );
  assertEquals(
    hex(c.sealEndpoint(encodeEndpoint("10.0.0.2:51820"))),
    hex(cbc.slice(0, 16)),
  );
});

Deno.test("sealData() round-trips with a 12-byte nonce prefix and 16-byte tag", () => {
  const c = createClusterCipher(KEY);
  const plain = new TextEncoder().encode("hello affiliate");
  const sealed = c.sealData(plain);
  assertEquals(sealed.length, 12 + plain.length + 16);
  assertEquals(c.openData(sealed), plain);
  const other = c.sealData(plain);
  assert(hex(other) !== hex(sealed), "nonce must be random");
  sealed[20]! ^= 1;
  assertThrows(() => c.openData(sealed), DiscoveryCryptoError);
});

Deno.test("openData() with another key fails; short data fails", () => {
  const a = createClusterCipher(KEY);
  const b = createClusterCipher(new Uint8Array(32).fill(9));
  assertThrows(
    () => b.openData(a.sealData(new Uint8Array([1, 2]))),
    DiscoveryCryptoError,
  );
  assertThrows(() => a.openData(new Uint8Array(5)), DiscoveryCryptoError);
  assertThrows(() => a.openEndpoint(new Uint8Array(15)), DiscoveryCryptoError);
});

Deno.test("clusterKey() rejects bad secrets without echoing them", () => {
  const e = assertThrows(
    () => clusterKey("c2VjcmV0c2VjcmV0"),
    DiscoveryCryptoError,
  );
  assert(!e.message.includes("c2VjcmV0"), "secret echoed");
  assertThrows(() => clusterKey("not base64!"), DiscoveryCryptoError);
  assertEquals(clusterKey(btoa(String.fromCharCode(...KEY))), KEY);
});
