/**
 * The discovery payload crypto: the service only ever sees ciphertext.
 *
 * Affiliate data is sealed with AES-256-GCM (`nonce(12) ‖ ciphertext ‖ tag(16)`,
 * no additional data). Each endpoint is sealed deterministically: one length
 * byte, the protobuf bytes, zero padding to a multiple of 16, then raw AES
 * (ECB) per 16-byte block, so that the same endpoint reported by two nodes is
 * byte-identical and the server can de-duplicate it.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { decodeBase64 } from "../../core/encoding/base64.ts";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const BLOCK = 16;

/** A payload could not be sealed or opened. */
export class DiscoveryCryptoError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DiscoveryCryptoError";
  }
}

/** Seals and opens discovery payloads with one cluster key. */
export interface ClusterCipher {
  sealData(plain: Uint8Array, nonce?: Uint8Array): Uint8Array;
  openData(sealed: Uint8Array): Uint8Array;
  sealEndpoint(plain: Uint8Array): Uint8Array;
  openEndpoint(sealed: Uint8Array): Uint8Array;
}

/**
 * Decodes the cluster secret (standard base64 of 32 bytes) into the AES key.
 *
 * @throws {DiscoveryCryptoError} when the secret is not base64 of 32 bytes (the secret is not echoed)
 */
export function clusterKey(secret: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = decodeBase64(secret);
  } catch {
    throw new DiscoveryCryptoError(
      "Cannot use cluster.secret as a discovery key: it is not standard base64",
    );
  }
  if (key.length !== 32) {
    throw new DiscoveryCryptoError(
      `Cannot use cluster.secret as a discovery key: it decodes to ${key.length} bytes, need 32`,
    );
  }
  return key;
}

function ecb(key: Uint8Array, input: Uint8Array, encrypt: boolean) {
  const c = encrypt
    ? createCipheriv("aes-256-ecb", key, null)
    : createDecipheriv("aes-256-ecb", key, null);
  c.setAutoPadding(false);
  const head = c.update(input);
  const tail = c.final();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

/** Builds the cipher for one cluster key (32 bytes). */
export function createClusterCipher(key: Uint8Array): ClusterCipher {
  if (key.length !== 32) {
    throw new DiscoveryCryptoError(
      `Cannot build the discovery cipher: key is ${key.length} bytes, need 32`,
    );
  }
  return {
    sealData(plain, nonce = new Uint8Array(randomBytes(NONCE_BYTES))) {
      if (nonce.length !== NONCE_BYTES) {
        throw new DiscoveryCryptoError(
          "Cannot seal data: nonce must be 12 bytes",
        );
      }
      const c = createCipheriv("aes-256-gcm", key, nonce);
      const body = c.update(plain);
      const fin = c.final();
      const tag = c.getAuthTag();
      const out = new Uint8Array(
        NONCE_BYTES + body.length + fin.length + TAG_BYTES,
      );
      out.set(nonce, 0);
      out.set(body, NONCE_BYTES);
      out.set(fin, NONCE_BYTES + body.length);
      out.set(tag, out.length - TAG_BYTES);
      return out;
    },
    openData(sealed) {
      if (sealed.length < NONCE_BYTES + TAG_BYTES) {
        throw new DiscoveryCryptoError(
          `Cannot open affiliate data: ${sealed.length} bytes is too short`,
        );
      }
      try {
        const d = createDecipheriv(
          "aes-256-gcm",
          key,
          sealed.subarray(0, NONCE_BYTES),
        );
        d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
        const head = d.update(
          sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES),
        );
        const tail = d.final();
        const out = new Uint8Array(head.length + tail.length);
        out.set(head, 0);
        out.set(tail, head.length);
        return out;
      } catch (cause) {
        throw new DiscoveryCryptoError(
          "Cannot open affiliate data: authentication failed (wrong cluster secret?)",
          { cause },
        );
      }
    },
    sealEndpoint(plain) {
      if (plain.length > 255) {
        throw new DiscoveryCryptoError("Cannot seal endpoint: over 255 bytes");
      }
      const padded = new Uint8Array(
        Math.ceil((plain.length + 1) / BLOCK) * BLOCK,
      );
      padded[0] = plain.length;
      padded.set(plain, 1);
      return ecb(key, padded, true);
    },
    openEndpoint(sealed) {
      if (sealed.length === 0 || sealed.length % BLOCK !== 0) {
        throw new DiscoveryCryptoError(
          `Cannot open endpoint: ${sealed.length} bytes is not a whole number of blocks`,
        );
      }
      const plain = ecb(key, sealed, false);
      const n = plain[0]!;
      if (n + 1 > plain.length) {
        throw new DiscoveryCryptoError(
          "Cannot open endpoint: length byte exceeds the block (wrong cluster secret?)",
        );
      }
      return plain.slice(1, 1 + n);
    },
  };
}
