/**
 * Test helpers: parse `wg show <if> dump` and project a {@linkcode WgDevice}
 * onto the same fields, so read-backs can be compared with wg(8).
 */
import type { WgDevice, WgPeerConfig } from "../../../ffi/wireguard/types.ts";

/** The fields `wg show dump` prints, per device and per peer. */
export interface DumpView {
  publicKey: string;
  listenPort: number;
  firewallMark: number;
  peers: {
    publicKey: string;
    hasPresharedKey: boolean;
    endpoint: string;
    allowedIPs: string[];
    lastHandshakeSec: number;
    receiveBytes: number;
    transmitBytes: number;
    persistentKeepaliveInterval: number;
  }[];
}

/** Parses `wg show <if> dump` (tab-separated; the first line is the device). */
export function parseWgDump(text: string): DumpView {
  const [dev, ...peers] = text.trim().split("\n").map((l) => l.split("\t"));
  if (!dev || dev.length < 4) throw new SyntaxError("Cannot parse wg dump");
  const none = (v: string | undefined) => v === undefined || v === "(none)";
  return {
    publicKey: none(dev[1]) ? "" : dev[1]!,
    listenPort: Number(dev[2]),
    firewallMark: dev[3] === "off" ? 0 : Number(dev[3]),
    peers: peers.map((p) => ({
      publicKey: p[0]!,
      hasPresharedKey: !none(p[1]),
      endpoint: none(p[2]) ? "" : p[2]!,
      allowedIPs: none(p[3]) ? [] : p[3]!.split(","),
      lastHandshakeSec: Number(p[4]),
      receiveBytes: Number(p[5]),
      transmitBytes: Number(p[6]),
      persistentKeepaliveInterval: p[7] === "off" ? 0 : Number(p[7]),
    })),
  };
}

/** Projects our read-back onto the fields of {@linkcode DumpView}. */
export function dumpViewOf(dev: WgDevice): DumpView {
  return {
    publicKey: dev.publicKey,
    listenPort: dev.listenPort,
    firewallMark: dev.firewallMark,
    peers: dev.peers.map((p) => ({
      publicKey: p.publicKey,
      hasPresharedKey: p.hasPresharedKey,
      endpoint: p.endpoint,
      allowedIPs: p.allowedIPs,
      lastHandshakeSec: Math.floor(p.lastHandshakeTime / 1000),
      receiveBytes: p.receiveBytes,
      transmitBytes: p.transmitBytes,
      persistentKeepaliveInterval: p.persistentKeepaliveInterval,
    })),
  };
}

/** Sorts peers by key (the two readers may order them differently). */
export function sortedView(v: DumpView): DumpView {
  return {
    ...v,
    peers: [...v.peers].sort((a, b) => a.publicKey < b.publicKey ? -1 : 1),
  };
}

/** A fresh clamped private key (base64), from WebCrypto randomness. */
export function randomPrivateKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  b[0] = b[0]! & 248;
  b[31] = (b[31]! & 127) | 64;
  return btoa(String.fromCharCode(...b));
}

/** A synthetic peer for benchmarks: distinct key, allowed IP and endpoint. */
export interface BenchPeer {
  pub: string;
  ip: string;
  ep: string;
}

/** `n` synthetic peers (n ≤ 65536). */
export function peerConfigs(n: number): BenchPeer[] {
  return Array.from({ length: n }, (_, i) => {
    const b = new Uint8Array(32);
    b[0] = 1 + (i >> 8);
    b[1] = i & 255;
    b[31] = 7;
    return {
      pub: btoa(String.fromCharCode(...b)),
      ip: `10.${100 + (i >> 8)}.${i & 255}.1/32`,
      ep: `192.168.${i >> 8}.${i & 255}:51820`,
    };
  });
}

/** The same peer as a {@linkcode WgPeerConfig}. */
export function peerConfig(p: BenchPeer): WgPeerConfig {
  return { publicKey: p.pub, endpoint: p.ep, allowedIPs: [p.ip] };
}

/** A wg(8) config file with the same device and peers. */
export function wgConf(priv: string, port: number, peers: BenchPeer[]): string {
  return `[Interface]\nPrivateKey = ${priv}\nListenPort = ${port}\n` +
    peers.map((p) =>
      `[Peer]\nPublicKey = ${p.pub}\nEndpoint = ${p.ep}\nAllowedIPs = ${p.ip}\n`
    ).join("");
}
