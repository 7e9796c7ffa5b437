/**
 * The text protocol of the cross-platform WireGuard UAPI (wireguard-go's
 * unix socket): `set=1` requests built from a {@linkcode WgDeviceConfig},
 * `get=1` replies parsed into a {@linkcode WgDevice}, `errno=N` mapped to
 * typed errors. Pure functions; no I/O.
 *
 * Keys are base64 in the API and lowercase hex on the wire.
 *
 * @module
 */
import { emptyPeer } from "./_peer.ts";
import {
  errnoName,
  type NetlinkError,
  netlinkError,
} from "../netlink/errors.ts";
import { decodeKey } from "./kernel_codec.ts";
import type { WgDeviceConfig, WgPeer } from "./types.ts";

/** The request that reads a device. */
export const UAPI_GET = "get=1\n\n";

/** Two lowercase hex digits for each byte value. */
const BYTE_HEX = Array.from(
  { length: 256 },
  (_, b) => b.toString(16).padStart(2, "0"),
);

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The 6-bit value of each base64 digit, -1 for any other ASCII code. */
const B64_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

/**
 * The hex form of a key in the canonical 44-character base64 form, or
 * undefined when `b64` is in any other form. Straight from the digits: a
 * 1000-peer request has 1000–3000 keys, and `atob` plus a byte array per key
 * was most of its encoding time.
 */
function canonicalKeyToHex(b64: string): string | undefined {
  if (b64.length !== 44 || b64.charCodeAt(43) !== 61) return undefined;
  let hex = "";
  // 10 groups of 4 digits are 30 bytes; the last 3 digits (and "=") are 2
  for (let i = 0; i < 44; i += 4) {
    const a = B64_VALUE[b64.charCodeAt(i)] ?? -1;
    const b = B64_VALUE[b64.charCodeAt(i + 1)] ?? -1;
    const c = B64_VALUE[b64.charCodeAt(i + 2)] ?? -1;
    const d = i === 40 ? 0 : B64_VALUE[b64.charCodeAt(i + 3)] ?? -1;
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    hex += BYTE_HEX[v >> 16]! + BYTE_HEX[(v >> 8) & 255]!;
    if (i !== 40) hex += BYTE_HEX[v & 255]!;
  }
  return hex;
}

/** Converts a base64 key to the 64-character hex form the UAPI uses. */
export function keyToHex(b64: string, what = "key"): string {
  const fast = canonicalKeyToHex(b64);
  if (fast !== undefined) return fast;
  // any other spelling atob accepts (or the error saying why not)
  const bytes = decodeKey(b64, what);
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += BYTE_HEX[bytes[i]!]!;
  return hex;
}

const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) {
    t["0123456789abcdef".charCodeAt(i)] = i;
    t["0123456789ABCDEF".charCodeAt(i)] = i;
  }
  return t;
})();

/** Converts a 64-character hex key back to base64; TypeError when invalid. */
export function hexToKey(hex: string, what = "key"): string {
  const bytes = new Uint8Array(33);
  let bad = hex.length !== 64;
  for (let i = 0; i < 32 && !bad; i++) {
    const hi = HEX_VALUE[hex.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_VALUE[hex.charCodeAt(2 * i + 1)] ?? -1;
    bad = hi < 0 || lo < 0;
    bytes[i] = (hi << 4) | lo;
  }
  if (bad) throw new TypeError(`Cannot decode ${what}: want 64 hex digits`);
  // 32 bytes = 10 groups of 3 plus 2 bytes (padded with the spare zero byte).
  let out = "";
  for (let i = 0; i < 33; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[v >> 18]! + B64[(v >> 12) & 63]! + B64[(v >> 6) & 63]! +
      B64[v & 63]!;
  }
  return out.slice(0, 43) + "=";
}

function checkPort(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`Cannot encode ${what} ${n}: want 0..65535`);
  }
  return n;
}

function checkU32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`Cannot encode ${what} ${n}: want 0..4294967295`);
  }
  return n;
}

function checkNoNewline(v: string, what: string): string {
  if (/[\n=]/.test(v) || v === "") {
    throw new TypeError(
      `Cannot encode ${what} "${v}": empty or has "=" or a newline`,
    );
  }
  return v;
}

/**
 * Builds one `set=1` request (ending in the blank line) for `config`.
 * Fields that are absent are left out, so the device keeps them.
 */
export function encodeSet(config: WgDeviceConfig): string {
  const lines = ["set=1"];
  if (config.privateKey !== undefined) {
    lines.push(`private_key=${keyToHex(config.privateKey, "private key")}`);
  }
  if (config.listenPort !== undefined) {
    lines.push(`listen_port=${checkPort(config.listenPort, "listen port")}`);
  }
  if (config.firewallMark !== undefined) {
    lines.push(`fwmark=${checkU32(config.firewallMark, "firewall mark")}`);
  }
  if (config.replacePeers) lines.push("replace_peers=true");
  for (const p of config.peers ?? []) {
    lines.push(`public_key=${keyToHex(p.publicKey, "peer public key")}`);
    if (p.remove) {
      lines.push("remove=true");
      continue;
    }
    if (p.updateOnly) lines.push("update_only=true");
    if (p.presharedKey !== undefined) {
      lines.push(`preshared_key=${keyToHex(p.presharedKey, "preshared key")}`);
    }
    if (p.endpoint !== undefined) {
      lines.push(`endpoint=${checkNoNewline(p.endpoint, "endpoint")}`);
    }
    if (p.persistentKeepaliveInterval !== undefined) {
      lines.push(
        `persistent_keepalive_interval=${
          checkPort(p.persistentKeepaliveInterval, "keepalive interval")
        }`,
      );
    }
    if (p.replaceAllowedIPs) lines.push("replace_allowed_ips=true");
    for (const ip of p.allowedIPs ?? []) {
      lines.push(`allowed_ip=${checkNoNewline(ip, "allowed IP")}`);
    }
  }
  return lines.join("\n") + "\n\n";
}

/** What to do about each errno wireguard-go answers with. */
const ERRNO_HINTS: Record<number, string> = {
  22:
    "wireguard-go rejected a value (key, endpoint or allowed IP); check the configuration",
  98: "the listen port is already in use; pick another port",
  71: "wireguard-go could not parse the request; this is a bug in edgespan",
  5: "wireguard-go failed an I/O operation; check its log and restart it",
};

/**
 * Maps a UAPI `errno=N` (wireguard-go sends it negated) to a typed error
 * carrying the errno name and what to do, or `undefined` for 0.
 */
export function uapiError(
  operation: string,
  errno: number,
): NetlinkError | undefined {
  const n = Math.abs(errno);
  if (n === 0) return undefined;
  return netlinkError({
    operation,
    errno: n,
    extAckMessage: ERRNO_HINTS[n] ??
      `wireguard-go answered ${errnoName(n)}; check its log`,
  });
}

/** A parsed `get=1` reply. */
export interface UapiDeviceReply {
  /** Base64 private key, "" when unset. Never log it. */
  privateKey: string;
  /** UDP listen port (0 = none yet). */
  listenPort: number;
  /** Firewall mark on outgoing packets (0 = none). */
  firewallMark: number;
  /** Peers with their statistics. */
  peers: WgPeer[];
  /** The reply's `errno` (0 = success). */
  errno: number;
}

function int(value: string, key: string): number {
  const n = Number(value);
  if (value === "" || !Number.isInteger(n)) {
    throw new SyntaxError(`Cannot parse UAPI reply: "${key}" is not a number`);
  }
  return n;
}

const ZERO_HEX = "0".repeat(64);

/**
 * Parses the reply to `get=1` (lines of `key=value`, ending at the blank
 * line). Unknown keys are ignored, as the protocol asks.
 */
export function parseGetReply(text: string): UapiDeviceReply {
  const out: UapiDeviceReply = {
    privateKey: "",
    listenPort: 0,
    firewallMark: 0,
    peers: [],
    errno: 0,
  };
  let peer: WgPeer | undefined;
  let handshakeSec = 0;
  let handshakeNsec = 0;
  const finishPeer = () => {
    if (peer) {
      peer.lastHandshakeTime = handshakeSec * 1000 +
        Math.floor(handshakeNsec / 1e6);
    }
    handshakeSec = 0;
    handshakeNsec = 0;
  };
  let sawErrno = false;
  for (const line of text.split("\n")) {
    if (line === "") {
      if (sawErrno) break;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 1) {
      throw new SyntaxError(`Cannot parse UAPI reply: line without "="`);
    }
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "errno") {
      out.errno = int(value, key);
      sawErrno = true;
      continue;
    }
    if (key === "public_key") {
      finishPeer();
      peer = emptyPeer(hexToKey(value, "peer public key"));
      out.peers.push(peer);
      continue;
    }
    if (!peer) {
      switch (key) {
        case "private_key":
          out.privateKey = value === ZERO_HEX
            ? ""
            : hexToKey(value, "private key");
          break;
        case "listen_port":
          out.listenPort = int(value, key);
          break;
        case "fwmark":
          out.firewallMark = int(value, key);
          break;
      }
      continue;
    }
    switch (key) {
      case "preshared_key":
        peer.hasPresharedKey = value !== ZERO_HEX;
        break;
      case "endpoint":
        peer.endpoint = value;
        break;
      case "persistent_keepalive_interval":
        peer.persistentKeepaliveInterval = int(value, key);
        break;
      case "last_handshake_time_sec":
        handshakeSec = int(value, key);
        break;
      case "last_handshake_time_nsec":
        handshakeNsec = int(value, key);
        break;
      case "rx_bytes":
        peer.receiveBytes = int(value, key);
        break;
      case "tx_bytes":
        peer.transmitBytes = int(value, key);
        break;
      case "allowed_ip":
        peer.allowedIPs.push(value);
        break;
      case "protocol_version":
        peer.protocolVersion = int(value, key);
        break;
    }
  }
  finishPeer();
  if (!sawErrno) {
    throw new SyntaxError("Cannot parse UAPI reply: no errno line (truncated)");
  }
  return out;
}

/**
 * Parses the reply to `set=1`, which holds only `errno=N`. Returns N.
 */
export function parseSetReply(text: string): number {
  const m = /(?:^|\n)errno=(-?\d+)\n/.exec(text);
  if (!m) {
    throw new SyntaxError("Cannot parse UAPI reply: no errno line (truncated)");
  }
  return Number(m[1]);
}
