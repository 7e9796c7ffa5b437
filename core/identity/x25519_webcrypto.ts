/**
 * The X25519 public key of a raw private key through WebCrypto (the
 * runtime's native curve). No npm import: the VM guest loads `ffi/` and
 * `core/` without node_modules.
 *
 * @module
 */

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410): the fixed prefix.
const PKCS8_X25519 = new Uint8Array([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
]);

/**
 * The public key of a 32-byte X25519 private key, as standard base64.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { x25519PublicKey } from "./x25519_webcrypto.ts";
 *
 * // RFC 7748, section 6.1: Alice's key pair.
 * const priv = Uint8Array.from(
 *   "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
 *     .match(/../g)!.map((h) => parseInt(h, 16)),
 * );
 * strictEqual(
 *   await x25519PublicKey(priv),
 *   "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
 * );
 * ```
 */
export async function x25519PublicKey(privateKey: Uint8Array): Promise<string> {
  if (privateKey.length !== 32) {
    throw new RangeError(
      `An X25519 private key is 32 bytes, not ${privateKey.length}`,
    );
  }
  const pkcs8 = new Uint8Array(PKCS8_X25519.length + 32);
  pkcs8.set(PKCS8_X25519);
  pkcs8.set(privateKey, PKCS8_X25519.length);
  try {
    const key = await crypto.subtle.importKey(
      "pkcs8",
      pkcs8,
      { name: "X25519" },
      true,
      ["deriveBits"],
    );
    const x = (await crypto.subtle.exportKey("jwk", key)).x ?? "";
    const b64 = x.replaceAll("-", "+").replaceAll("_", "/");
    return b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  } finally {
    pkcs8.fill(0);
  }
}
