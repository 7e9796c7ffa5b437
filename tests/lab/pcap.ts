/**
 * A minimal reader of tcpdump's classic pcap files (raw IP, Ethernet or
 * Linux cooked captures, IPv4/IPv6 UDP), and the check that a relay forwarded
 * only WireGuard messages. Pure.
 *
 * @module
 */

/** One captured UDP datagram. */
export interface UdpPacket {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

function ipText(b: Uint8Array, v6: boolean): string {
  if (!v6) return [...b].join(".");
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  }
  return parts.join(":");
}

/** The UDP datagrams of a pcap file (other packets are skipped). */
export function readPcapUdp(file: Uint8Array): UdpPacket[] {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && v.getUint32(0, false) !== 0xa1b2c3d4) {
    throw new SyntaxError("Cannot read capture: not a pcap file");
  }
  const linktype = v.getUint32(20, le);
  const linkHeader = linktype === 101
    ? 0
    : linktype === 1
    ? 14
    : linktype === 113
    ? 16
    : linktype === 276
    ? 20
    : -1;
  if (linkHeader < 0) {
    throw new SyntaxError(`Cannot read capture: link type ${linktype}`);
  }
  const out: UdpPacket[] = [];
  for (let off = 24; off + 16 <= file.length;) {
    const caplen = v.getUint32(off + 8, le);
    const frame = file.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    const ip = frame.subarray(linkHeader);
    const version = ip[0]! >> 4;
    let l4: Uint8Array;
    let src: string, dst: string;
    if (version === 4) {
      if (ip[9] !== 17) continue;
      const ihl = (ip[0]! & 15) * 4;
      src = ipText(ip.subarray(12, 16), false);
      dst = ipText(ip.subarray(16, 20), false);
      l4 = ip.subarray(ihl);
    } else if (version === 6) {
      if (ip[6] !== 17) continue;
      src = ipText(ip.subarray(8, 24), true);
      dst = ipText(ip.subarray(24, 40), true);
      l4 = ip.subarray(40);
    } else continue;
    const u = new DataView(l4.buffer, l4.byteOffset, l4.byteLength);
    if (l4.length < 8) continue;
    out.push({
      src,
      dst,
      srcPort: u.getUint16(0),
      dstPort: u.getUint16(2),
      payload: l4.subarray(8, u.getUint16(4)),
    });
  }
  return out;
}

/**
 * The WireGuard message type of a UDP payload (1 initiation, 2 response,
 * 3 cookie, 4 data), or 0 when it is not shaped like one: the type byte,
 * three zero bytes, and the length each type has (data: a 16-byte header,
 * a 16-byte tag, padded to 16).
 */
export function wireGuardType(p: Uint8Array): number {
  if (p.length < 4 || p[1] !== 0 || p[2] !== 0 || p[3] !== 0) return 0;
  const t = p[0]!;
  if (t === 1) return p.length === 148 ? 1 : 0;
  if (t === 2) return p.length === 92 ? 2 : 0;
  if (t === 3) return p.length === 64 ? 3 : 0;
  if (t === 4) return p.length >= 32 && (p.length - 32) % 16 === 0 ? 4 : 0;
  return 0;
}

/** Whether `needle` occurs in `hay`. */
export function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}
