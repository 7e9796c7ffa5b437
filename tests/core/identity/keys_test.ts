import {
  clampPrivateKey,
  derivePublicKey,
  generatePrivateKey,
  parseKey,
  publicKeyOf,
  type WgKey,
} from "../../../core/identity/keys.ts";
import {
  decodeBase64,
  decodeHex,
  encodeBase64,
} from "../../../core/encoding/base64.ts";
import { assertEquals, assertThrows } from "../../_tools/assert.ts";

Deno.test("publicKeyOf() matches the RFC 7748 X25519 vector", () => {
  const priv = encodeBase64(
    decodeHex(
      "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ),
  ) as WgKey;
  const pub = decodeBase64(publicKeyOf(priv));
  assertEquals(
    pub,
    decodeHex(
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    ),
  );
});

Deno.test("derivePublicKey() matches the RFC 7748 X25519 vector and publicKeyOf() on unclamped keys", async () => {
  const priv = encodeBase64(
    decodeHex(
      "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ),
  ) as WgKey;
  assertEquals(
    decodeBase64(await derivePublicKey(priv)),
    decodeHex(
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    ),
  );
  for (let i = 0; i < 32; i++) {
    // Raw random bytes, clamped or not: both clamp as X25519 does.
    const raw = encodeBase64(
      crypto.getRandomValues(new Uint8Array(32)),
    ) as WgKey;
    assertEquals(await derivePublicKey(raw), publicKeyOf(raw));
  }
});

Deno.test("generatePrivateKey() clamps as wg genkey does", () => {
  const key = decodeBase64(
    generatePrivateKey(() => new Uint8Array(32).fill(0xff)),
  );
  assertEquals(key[0], 0xf8);
  assertEquals(key[31], 0x7f);
  assertEquals(clampPrivateKey(new Uint8Array(32))[31], 0x40);
  assertEquals(generatePrivateKey().length, 44);
});

Deno.test("parseKey() wants 32 bytes of standard base64", () => {
  assertThrows(() => parseKey("abc"), SyntaxError, "base64");
  assertThrows(
    () => parseKey(encodeBase64(new Uint8Array(16))),
    SyntaxError,
    "16 bytes",
  );
  const ok = encodeBase64(new Uint8Array(32));
  assertEquals(parseKey(ok), ok);
});
