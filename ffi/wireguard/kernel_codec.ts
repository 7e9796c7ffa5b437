/**
 * Codec of the `wireguard` generic netlink family (linux/wireguard.h):
 * WG_CMD_SET_DEVICE split over several messages so each stays under a
 * page, WG_CMD_GET_DEVICE dump request, and a parser that merges peers a
 * dump split across messages.
 *
 * @module
 */
import { emptyPeer } from "./_peer.ts";
import { buildGenlMessage, GENL_HDRLEN } from "../genetlink/family.ts";
import { AttributeDecoder } from "../netlink/decoder.ts";
import { NetlinkEncoder } from "../netlink/encoder.ts";
import {
  type NetlinkMessage,
  NLM_F_DUMP,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import {
  formatAddrPort,
  formatPrefix,
  ipFromBytes,
  maskIP,
  parseAddrPort,
  parsePrefix,
} from "../../core/netaddr/ip.ts";
import { checkIfName } from "../rtnetlink/link.ts";
import type {
  WgDevice,
  WgDeviceConfig,
  WgPeer,
  WgPeerConfig,
} from "./types.ts";

export const WG_GENL_NAME = "wireguard";
export const WG_GENL_VERSION = 1;
const WG_CMD_GET_DEVICE = 0;
const WG_CMD_SET_DEVICE = 1;

const DEV = {
  IFINDEX: 1,
  IFNAME: 2,
  PRIVATE_KEY: 3,
  PUBLIC_KEY: 4,
  FLAGS: 5,
  LISTEN_PORT: 6,
  FWMARK: 7,
  PEERS: 8,
} as const;
const WGDEVICE_F_REPLACE_PEERS = 1;

const PEER = {
  PUBLIC_KEY: 1,
  PRESHARED_KEY: 2,
  FLAGS: 3,
  ENDPOINT: 4,
  KEEPALIVE: 5,
  LAST_HANDSHAKE: 6,
  RX_BYTES: 7,
  TX_BYTES: 8,
  ALLOWEDIPS: 9,
  PROTOCOL_VERSION: 10,
} as const;
const WGPEER_F_REMOVE_ME = 1;
const WGPEER_F_REPLACE_ALLOWEDIPS = 2;
const WGPEER_F_UPDATE_ONLY = 4;

const AIP = { FAMILY: 1, IPADDR: 2, CIDR_MASK: 3 } as const;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * Largest message we build. `wg(8)` sizes its buffer to one page; staying
 * under 4 KiB keeps every message acceptable for any reader.
 */
export const WG_MESSAGE_BUDGET = 4096;

/** Decodes a base64 WireGuard key (32 bytes); TypeError when invalid. */
export function decodeKey(b64: string, what = "key"): Uint8Array<ArrayBuffer> {
  let raw: string;
  try {
    raw = atob(b64);
  } catch {
    throw new TypeError(`Cannot decode ${what}: not base64`);
  }
  if (raw.length !== 32) {
    throw new TypeError(`Cannot decode ${what}: ${raw.length} bytes, want 32`);
  }
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Encodes key bytes as base64. */
export function encodeKey(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

/** Encodes `ip:port` / `[ip]:port` as a `sockaddr_in` / `sockaddr_in6`. */
export function encodeSockaddr(endpoint: string): Uint8Array<ArrayBuffer> {
  const { ip, port } = parseAddrPort(endpoint);
  const out = new Uint8Array(ip.family === 4 ? 16 : 28);
  const v = new DataView(out.buffer);
  v.setUint16(0, ip.family === 4 ? AF_INET : AF_INET6, true);
  v.setUint16(2, port, false);
  out.set(ip.bytes, ip.family === 4 ? 4 : 8);
  return out;
}

/** Decodes a sockaddr to `ip:port` / `[ip]:port` ("" for AF_UNSPEC). */
export function decodeSockaddr(b: Uint8Array): string {
  if (b.length < 4) return "";
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = v.getUint16(0, true);
  const port = v.getUint16(2, false);
  if (family === AF_INET && b.length >= 8) {
    return formatAddrPort({ ip: ipFromBytes(b.subarray(4, 8)), port });
  }
  if (family === AF_INET6 && b.length >= 24) {
    return formatAddrPort({ ip: ipFromBytes(b.subarray(8, 24)), port });
  }
  return "";
}

function allowedIpEntry(prefix: string): Uint8Array<ArrayBuffer> {
  const p = parsePrefix(prefix);
  const e = new NetlinkEncoder();
  e.nested(0, (n) => {
    n.attrU16(AIP.FAMILY, p.ip.family === 4 ? AF_INET : AF_INET6);
    n.attrBytes(AIP.IPADDR, maskIP(p.ip, p.bits).bytes);
    n.attrU8(AIP.CIDR_MASK, p.bits);
  });
  return e.finish();
}

function peerHead(p: WgPeerConfig, first: boolean): Uint8Array<ArrayBuffer> {
  const e = new NetlinkEncoder();
  e.attrBytes(PEER.PUBLIC_KEY, decodeKey(p.publicKey, "peer public key"));
  if (!first) return e.finish();
  const flags = (p.remove ? WGPEER_F_REMOVE_ME : 0) |
    (p.replaceAllowedIPs ? WGPEER_F_REPLACE_ALLOWEDIPS : 0) |
    (p.updateOnly ? WGPEER_F_UPDATE_ONLY : 0);
  if (flags) e.attrU32(PEER.FLAGS, flags);
  if (p.presharedKey !== undefined) {
    e.attrBytes(PEER.PRESHARED_KEY, decodeKey(p.presharedKey, "preshared key"));
  }
  if (p.endpoint) e.attrBytes(PEER.ENDPOINT, encodeSockaddr(p.endpoint));
  if (p.persistentKeepaliveInterval !== undefined) {
    e.attrU16(PEER.KEEPALIVE, p.persistentKeepaliveInterval);
  }
  return e.finish();
}

interface PeerPart {
  head: Uint8Array;
  ips: Uint8Array[];
}

/**
 * Builds the WG_CMD_SET_DEVICE messages for `config`: the first carries the
 * device attributes (and REPLACE_PEERS), later ones only the name and more
 * peers. A peer whose allowed IPs do not fit continues in the next message
 * with just its public key (no flags), so replace semantics hold.
 */
export function encodeSetDevice(
  familyId: number,
  name: string,
  config: WgDeviceConfig,
  budget: number = WG_MESSAGE_BUDGET,
): Uint8Array<ArrayBuffer>[] {
  const messages: Uint8Array<ArrayBuffer>[] = [];
  let parts: PeerPart[] = [];
  const base = (first: boolean) => {
    const e = new NetlinkEncoder();
    e.attrString(DEV.IFNAME, checkIfName(name));
    if (first) {
      if (config.privateKey !== undefined) {
        e.attrBytes(
          DEV.PRIVATE_KEY,
          decodeKey(config.privateKey, "private key"),
        );
      }
      if (config.listenPort !== undefined) {
        e.attrU16(DEV.LISTEN_PORT, config.listenPort);
      }
      if (config.firewallMark !== undefined) {
        e.attrU32(DEV.FWMARK, config.firewallMark);
      }
      if (config.replacePeers) e.attrU32(DEV.FLAGS, WGDEVICE_F_REPLACE_PEERS);
    }
    return e.finish();
  };
  let head = base(true);
  // nlmsghdr + genlmsghdr + device attributes + PEERS nest header
  let used = 16 + GENL_HDRLEN + head.length + 4;
  const flush = () => {
    const h = head;
    const ps = parts;
    messages.push(
      buildGenlMessage(
        familyId,
        NLM_F_REQUEST,
        WG_CMD_SET_DEVICE,
        WG_GENL_VERSION,
        (e) => {
          e.bytes(h);
          if (ps.length === 0) return;
          e.nested(DEV.PEERS, (peers) => {
            ps.forEach((p, i) =>
              peers.nested(i, (pe) => {
                pe.bytes(p.head);
                if (p.ips.length > 0) {
                  pe.nested(
                    PEER.ALLOWEDIPS,
                    (a) => p.ips.forEach((ip) => a.bytes(ip)),
                  );
                }
              })
            );
          });
        },
      ),
    );
    head = base(false);
    used = 16 + GENL_HDRLEN + head.length + 4;
    parts = [];
  };
  for (const peer of config.peers ?? []) {
    const ips = (peer.remove ? [] : peer.allowedIPs ?? []).map(allowedIpEntry);
    let part: PeerPart = { head: peerHead(peer, true), ips: [] };
    if (parts.length > 0 && used + 4 + part.head.length > budget) flush();
    parts.push(part);
    used += 4 + part.head.length;
    for (const ip of ips) {
      // The first allowed IP of a part also opens the ALLOWEDIPS nest.
      if (used + ip.length + (part.ips.length === 0 ? 4 : 0) > budget) {
        flush();
        part = { head: peerHead(peer, false), ips: [] };
        parts.push(part);
        used += 4 + part.head.length;
      }
      used += ip.length + (part.ips.length === 0 ? 4 : 0);
      part.ips.push(ip);
    }
  }
  if (parts.length > 0 || messages.length === 0) flush();
  return messages;
}

/** WG_CMD_GET_DEVICE dump request for a device name. */
export function encodeGetDevice(
  familyId: number,
  name: string,
): Uint8Array<ArrayBuffer> {
  return buildGenlMessage(
    familyId,
    NLM_F_REQUEST | NLM_F_DUMP,
    WG_CMD_GET_DEVICE,
    WG_GENL_VERSION,
    (e) => e.attrString(DEV.IFNAME, checkIfName(name)),
  );
}

function parseAllowedIp(d: AttributeDecoder): string | undefined {
  let family = 0;
  let addr: Uint8Array | undefined;
  let cidr = 0;
  while (d.next()) {
    if (d.type === AIP.FAMILY) family = d.u16();
    else if (d.type === AIP.IPADDR) addr = d.copy();
    else if (d.type === AIP.CIDR_MASK) cidr = d.u8();
  }
  if (!addr || (family !== AF_INET && family !== AF_INET6)) return undefined;
  return formatPrefix({ ip: ipFromBytes(addr), bits: cidr });
}

function parsePeer(d: AttributeDecoder): WgPeer {
  const peer: WgPeer = emptyPeer();
  while (d.next()) {
    switch (d.type) {
      case PEER.PUBLIC_KEY:
        peer.publicKey = encodeKey(d.bytes());
        break;
      case PEER.PRESHARED_KEY:
        // Only whether it is set; the key never leaves this function.
        peer.hasPresharedKey = d.bytes().some((x) => x !== 0);
        break;
      case PEER.ENDPOINT:
        peer.endpoint = decodeSockaddr(d.bytes());
        break;
      case PEER.KEEPALIVE:
        peer.persistentKeepaliveInterval = d.u16();
        break;
      case PEER.LAST_HANDSHAKE: {
        const b = d.bytes();
        if (b.length >= 16) {
          const v = new DataView(b.buffer, b.byteOffset, 16);
          const sec = Number(v.getBigInt64(0, true));
          const nsec = Number(v.getBigInt64(8, true));
          peer.lastHandshakeTime = sec * 1000 + Math.floor(nsec / 1e6);
        }
        break;
      }
      case PEER.RX_BYTES:
        peer.receiveBytes = Number(d.u64());
        break;
      case PEER.TX_BYTES:
        peer.transmitBytes = Number(d.u64());
        break;
      case PEER.PROTOCOL_VERSION:
        peer.protocolVersion = d.u32();
        break;
      case PEER.ALLOWEDIPS:
        d.nested((list) => {
          while (list.next()) {
            list.nested((one) => {
              const ip = parseAllowedIp(one);
              if (ip) peer.allowedIPs.push(ip);
            });
          }
        });
        break;
    }
  }
  return peer;
}

/**
 * Parses the messages of a WG_CMD_GET_DEVICE dump into one device. A peer
 * the kernel split across messages (same public key first in the next
 * message) is merged.
 */
export function parseDevice(messages: NetlinkMessage[]): WgDevice {
  const dev: WgDevice = {
    name: "",
    publicKey: "",
    listenPort: 0,
    firewallMark: 0,
    peers: [],
  };
  for (const m of messages) {
    const d = new AttributeDecoder(m.payload.subarray(GENL_HDRLEN));
    let first = true;
    while (d.next()) {
      switch (d.type) {
        case DEV.IFNAME:
          dev.name = d.string();
          break;
        case DEV.PUBLIC_KEY:
          dev.publicKey = encodeKey(d.bytes());
          break;
        case DEV.LISTEN_PORT:
          dev.listenPort = d.u16();
          break;
        case DEV.FWMARK:
          dev.firewallMark = d.u32();
          break;
        case DEV.PEERS:
          d.nested((peers) => {
            while (peers.next()) {
              peers.nested((pd) => {
                const peer = parsePeer(pd);
                const last = dev.peers[dev.peers.length - 1];
                if (first && last && last.publicKey === peer.publicKey) {
                  last.allowedIPs.push(...peer.allowedIPs);
                } else {
                  dev.peers.push(peer);
                }
                first = false;
              });
            }
          });
          break;
      }
    }
    if (d.err) throw d.err;
  }
  if (dev.publicKey === encodeKey(new Uint8Array(32))) dev.publicKey = "";
  return dev;
}
