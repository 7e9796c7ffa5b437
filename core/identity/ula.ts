/**
 * KubeSpan's IPv6 ULA derivation: the cluster prefix from the cluster id,
 * the purpose byte, and the node address from a MAC (EUI-64).
 *
 * @module
 */
import { type IP, maskIP, type Prefix } from "../netaddr/ip.ts";

/** Purpose byte (byte 7) of a cluster ULA prefix. */
export const UlaPurpose = {
  unknown: 0x00,
  bootstrap: 0x01,
  kubeSpan: 0x02,
  sideroLink: 0x03,
  virtualSideroLink: 0x04,
} as const;

/**
 * The cluster's ULA /64 for a purpose, derived as KubeSpan does: SHA-256 of
 * the cluster id *text*, its last 16 bytes, byte 0 = 0xfd, byte 7 = purpose,
 * host half cleared.
 */
export async function ulaPrefix(
  clusterId: string,
  purpose: number = UlaPurpose.kubeSpan,
): Promise<Prefix> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(clusterId)),
  );
  const bytes = digest.slice(16, 32);
  bytes[0] = 0xfd;
  bytes[7] = purpose;
  return { ip: maskIP({ family: 6, bytes }, 64), bits: 64 };
}

/** Whether `ip` is a cluster ULA of that purpose (byte 0 0xfd, byte 7 purpose). */
export function isUla(ip: IP, purpose: number): boolean {
  return ip.family === 6 && ip.bytes[0] === 0xfd && ip.bytes[7] === purpose;
}

/**
 * Modified EUI-64 interface id of a MAC: for 6-byte MACs insert ff:fe in the
 * middle; 8-byte ones are used as is; either way flip the universal/local bit.
 *
 * @throws {RangeError} for any other length
 */
export function eui64(mac: Uint8Array): Uint8Array {
  let id: Uint8Array;
  if (mac.length === 6) {
    id = new Uint8Array([
      mac[0]!,
      mac[1]!,
      mac[2]!,
      0xff,
      0xfe,
      mac[3]!,
      mac[4]!,
      mac[5]!,
    ]);
  } else if (mac.length === 8) {
    id = mac.slice();
  } else {
    throw new RangeError(
      `Cannot derive an EUI-64 interface id from a ${mac.length}-byte hardware address: expected 6 or 8`,
    );
  }
  id[0] = id[0]! ^ 0x02;
  return id;
}

/** The node's mesh address: the /64's network half and the MAC's EUI-64. */
export function nodeAddress(subnet: Prefix, mac: Uint8Array): Prefix {
  const bytes = subnet.ip.bytes.slice();
  bytes.set(eui64(mac), 8);
  return { ip: { family: 6, bytes }, bits: 128 };
}

/**
 * Parses `aa:bb:cc:dd:ee:ff` (or dashes).
 *
 * @throws {SyntaxError} when the text is not a MAC
 */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (
    (parts.length !== 6 && parts.length !== 8) ||
    !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))
  ) {
    throw new SyntaxError(`Cannot parse "${text}" as a hardware address`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** Formats a MAC as lower-case colon-separated hex. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
}
