/**
 * Standard base64 with padding, as WireGuard keys and the cluster secret
 * use it.
 *
 * @module
 */
/** Standard base64 with padding, as WireGuard keys and the cluster secret use. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Decodes standard base64.
 *
 * @throws {SyntaxError} when the text is not standard base64
 */
export function decodeBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new SyntaxError(
      `Cannot decode "${text.slice(0, 8)}..." as standard base64`,
    );
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Lower-case hex, as the WireGuard UAPI writes keys. */
export function encodeHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Decodes hex.
 *
 * @throws {SyntaxError} when the text is not an even-length hex string
 */
export function decodeHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    throw new SyntaxError(`Cannot decode "${text.slice(0, 8)}..." as hex`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}
