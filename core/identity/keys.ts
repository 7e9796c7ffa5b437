/**
 * WireGuard keys: generation, parsing and the X25519 public key of a
 * private key.
 *
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { decodeBase64, encodeBase64 } from "../encoding/base64.ts";
import { x25519PublicKey } from "./x25519_webcrypto.ts";

/** A WireGuard key (private, public or preshared) as 44-character standard base64. */
export type WgKey = string & { readonly __wgKey: unique symbol };

/**
 * Validates a base64 WireGuard key.
 *
 * @throws {SyntaxError} when it is not 32 bytes of standard base64
 */
export function parseKey(text: string): WgKey {
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(text);
  } catch {
    throw new SyntaxError("Cannot parse WireGuard key: not standard base64");
  }
  if (bytes.length !== 32) {
    throw new SyntaxError(
      `Cannot parse WireGuard key: ${bytes.length} bytes, expected 32`,
    );
  }
  return text as WgKey;
}

/** The raw 32 bytes of a key. */
export function keyBytes(key: WgKey): Uint8Array {
  return decodeBase64(key);
}

/** Clamps 32 bytes into a Curve25519 private key, as `wg genkey` does. */
export function clampPrivateKey(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[0] = out[0]! & 248;
  out[31] = (out[31]! & 127) | 64;
  return out;
}

/** A fresh clamped private key. */
export function generatePrivateKey(
  random: (n: number) => Uint8Array = (n) =>
    crypto.getRandomValues(new Uint8Array(n)),
): WgKey {
  return encodeBase64(clampPrivateKey(random(32))) as WgKey;
}

/** The public key of a private key (X25519 base-point multiplication), in JS. */
export function publicKeyOf(privateKey: WgKey): WgKey {
  return encodeBase64(x25519.getPublicKey(keyBytes(privateKey))) as WgKey;
}

/**
 * The same as {@linkcode publicKeyOf} through WebCrypto: the runtime's
 * native X25519 instead of big-integer JS (about 1 ms against 8-14 ms for
 * the first key), which the agent's start pays on every box.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { derivePublicKey, generatePrivateKey, publicKeyOf } from "./keys.ts";
 *
 * const key = generatePrivateKey();
 * strictEqual(await derivePublicKey(key), publicKeyOf(key));
 * ```
 */
export async function derivePublicKey(privateKey: WgKey): Promise<WgKey> {
  return await x25519PublicKey(keyBytes(privateKey)) as WgKey;
}

/** Short form for logs and tables: the first 8 characters and an ellipsis. */
export function shortKey(key: string): string {
  return key.length > 10 ? `${key.slice(0, 8)}…` : key;
}
