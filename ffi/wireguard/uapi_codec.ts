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

/** The ASCII codes of the two lowercase hex digits of byte b: [2b], [2b+1]. */
const HEX_ASCII = (() => {
  const digits = "0123456789abcdef";
  const t = new Uint8Array(512);
  for (let b = 0; b < 256; b++) {
    t[2 * b] = digits.charCodeAt(b >> 4);
    t[2 * b + 1] = digits.charCodeAt(b & 15);
  }
  return t;
})();

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The 6-bit value of each base64 digit, -1 for any other ASCII code. */
const B64_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

/** Writes the 2 hex digits of byte `v` at `out[o]`. */
function putHexByte(out: Uint8Array, o: number, v: number): void {
  out[o] = HEX_ASCII[2 * v]!;
  out[o + 1] = HEX_ASCII[2 * v + 1]!;
}

/**
 * Writes the 64 hex digits of a key in the canonical 44-character base64
 * form at `out[o]`, straight from the digits; false (with `out` partly
 * written) when `b64` is in any other form. A 1000-peer request has
 * 1000–3000 keys, and `atob` plus a byte array per key was most of its
 * encoding time.
 */
function canonicalKeyHexInto(b64: string, out: Uint8Array, o: number): boolean {
  if (b64.length !== 44 || b64.charCodeAt(43) !== 61) return false;
  // 10 groups of 4 digits are 30 bytes; the last 3 digits (and "=") are 2
  for (let i = 0; i < 44; i += 4) {
    const a = B64_VALUE[b64.charCodeAt(i)] ?? -1;
    const b = B64_VALUE[b64.charCodeAt(i + 1)] ?? -1;
    const c = B64_VALUE[b64.charCodeAt(i + 2)] ?? -1;
    const d = i === 40 ? 0 : B64_VALUE[b64.charCodeAt(i + 3)] ?? -1;
    if ((a | b | c | d) < 0) return false;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    putHexByte(out, o, v >> 16);
    putHexByte(out, o + 2, (v >> 8) & 255);
    if (i !== 40) putHexByte(out, o + 4, v & 255);
    o += 6;
  }
  return true;
}

/** Writes the 64 hex digits of a base64 key at `out[o]`; TypeError if bad. */
function keyHexInto(
  b64: string,
  what: string,
  out: Uint8Array,
  o: number,
): void {
  if (canonicalKeyHexInto(b64, out, o)) return;
  // any other spelling atob accepts (or the error saying why not)
  const bytes = decodeKey(b64, what);
  for (let i = 0; i < 32; i++) putHexByte(out, o + 2 * i, bytes[i]!);
}

/** Converts a base64 key to the 64-character hex form the UAPI uses. */
export function keyToHex(b64: string, what = "key"): string {
  const out = new Uint8Array(64);
  keyHexInto(b64, what, out, 0);
  return String.fromCharCode(...out);
}

const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) {
    t["0123456789abcdef".charCodeAt(i)] = i;
    t["0123456789ABCDEF".charCodeAt(i)] = i;
  }
  return t;
})();

/** The ASCII code of each base64 digit. */
const B64_ASCII = Uint8Array.from(B64, (c) => c.charCodeAt(0));

/** The value of the hex digit at `hex[i]`, -1 when it is not one. */
function nibble(hex: string, i: number): number {
  return HEX_VALUE[hex.charCodeAt(i)] ?? -1;
}

/** Scratch for the 44 digits of a base64 key ("=" stays last). */
const KEY_DIGITS = new Array<number>(44).fill(61);

/**
 * Converts a 64-character hex key back to base64; TypeError when invalid.
 * Straight from the digits, without a byte array or string per group: a
 * 1000-peer read has 1000–2000 keys, and that was half its parsing time.
 */
export function hexToKey(hex: string, what = "key"): string {
  let bad = hex.length !== 64 ? -1 : 0;
  // 10 groups of 6 digits (3 bytes) are 40 base64 digits; the last 4 digits
  // (2 bytes, padded with a zero byte) are 3 more and "="
  for (let i = 0, o = 0; i < 60 && bad >= 0; i += 6, o += 4) {
    const a = nibble(hex, i), b = nibble(hex, i + 1), c = nibble(hex, i + 2);
    const d = nibble(hex, i + 3),
      e = nibble(hex, i + 4),
      f = nibble(hex, i + 5);
    bad |= a | b | c | d | e | f;
    const v = (a << 20) | (b << 16) | (c << 12) | (d << 8) | (e << 4) | f;
    KEY_DIGITS[o] = B64_ASCII[(v >> 18) & 63]!;
    KEY_DIGITS[o + 1] = B64_ASCII[(v >> 12) & 63]!;
    KEY_DIGITS[o + 2] = B64_ASCII[(v >> 6) & 63]!;
    KEY_DIGITS[o + 3] = B64_ASCII[v & 63]!;
  }
  const a = nibble(hex, 60), b = nibble(hex, 61);
  const c = nibble(hex, 62), d = nibble(hex, 63);
  if ((bad | a | b | c | d) < 0) {
    throw new TypeError(`Cannot decode ${what}: want 64 hex digits`);
  }
  const v = (a << 12) | (b << 8) | (c << 4) | d;
  KEY_DIGITS[40] = B64_ASCII[v >> 10]!;
  KEY_DIGITS[41] = B64_ASCII[(v >> 4) & 63]!;
  KEY_DIGITS[42] = B64_ASCII[(v << 2) & 63]!;
  return String.fromCharCode.apply(null, KEY_DIGITS);
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

function badText(v: string, what: string): TypeError {
  return new TypeError(
    `Cannot encode ${what} "${v}": empty or has "=" or a newline`,
  );
}

const utf8 = new TextEncoder();
const utf8Text = new TextDecoder();

/**
 * One request being written: a byte buffer that grows by doubling, so a
 * request is built in place without a string or array per line.
 */
class RequestBytes {
  buf: Uint8Array<ArrayBuffer>;
  len = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes. */
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(2 * this.buf.length, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Appends an ASCII string (a line's key, a number). */
  ascii(s: string): void {
    this.room(s.length);
    const buf = this.buf;
    let o = this.len;
    for (let i = 0; i < s.length; i++) buf[o++] = s.charCodeAt(i);
    this.len = o;
  }

  /** Appends the hex form of a base64 key. */
  key(b64: string, what: string): void {
    this.room(64);
    keyHexInto(b64, what, this.buf, this.len);
    this.len += 64;
  }

  /** Appends a value (UTF-8), which must be non-empty without "=" or "\n". */
  text(v: string, what: string): void {
    const n = v.length;
    if (n === 0) throw badText(v, what);
    this.room(n);
    const buf = this.buf;
    const o = this.len;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c === 10 || c === 61) throw badText(v, what);
      if (c > 127) return this.#nonAscii(v, what);
      buf[o + i] = c;
    }
    this.len = o + n;
  }

  #nonAscii(v: string, what: string): void {
    if (/[\n=]/.test(v)) throw badText(v, what);
    this.room(3 * v.length);
    this.len += utf8.encodeInto(v, this.buf.subarray(this.len)).written;
  }
}

/** Bytes a typical peer (one allowed IP, an endpoint) takes, to size buffers. */
const PEER_BYTES_GUESS = 160;

/**
 * Builds one `set=1` request (ending in the blank line) for `config`, as
 * the UTF-8 bytes sent on the socket. Fields that are absent are left out,
 * so the device keeps them.
 */
export function encodeSetBytes(
  config: WgDeviceConfig,
): Uint8Array<ArrayBuffer> {
  const peers = config.peers ?? [];
  const out = new RequestBytes(256 + PEER_BYTES_GUESS * peers.length);
  out.ascii("set=1");
  if (config.privateKey !== undefined) {
    out.ascii("\nprivate_key=");
    out.key(config.privateKey, "private key");
  }
  if (config.listenPort !== undefined) {
    out.ascii("\nlisten_port=");
    out.ascii(String(checkPort(config.listenPort, "listen port")));
  }
  if (config.firewallMark !== undefined) {
    out.ascii("\nfwmark=");
    out.ascii(String(checkU32(config.firewallMark, "firewall mark")));
  }
  if (config.replacePeers) out.ascii("\nreplace_peers=true");
  for (const p of peers) {
    out.ascii("\npublic_key=");
    out.key(p.publicKey, "peer public key");
    if (p.remove) {
      out.ascii("\nremove=true");
      continue;
    }
    if (p.updateOnly) out.ascii("\nupdate_only=true");
    if (p.presharedKey !== undefined) {
      out.ascii("\npreshared_key=");
      out.key(p.presharedKey, "preshared key");
    }
    if (p.endpoint !== undefined) {
      out.ascii("\nendpoint=");
      out.text(p.endpoint, "endpoint");
    }
    if (p.persistentKeepaliveInterval !== undefined) {
      out.ascii("\npersistent_keepalive_interval=");
      out.ascii(
        String(checkPort(p.persistentKeepaliveInterval, "keepalive interval")),
      );
    }
    if (p.replaceAllowedIPs) out.ascii("\nreplace_allowed_ips=true");
    for (const ip of p.allowedIPs ?? []) {
      out.ascii("\nallowed_ip=");
      out.text(ip, "allowed IP");
    }
  }
  out.ascii("\n\n");
  return out.buf.subarray(0, out.len);
}

/**
 * Builds one `set=1` request (ending in the blank line) for `config`: the
 * text of {@linkcode encodeSetBytes}. Fields that are absent are left out,
 * so the device keeps them.
 */
export function encodeSet(config: WgDeviceConfig): string {
  return utf8Text.decode(encodeSetBytes(config));
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

const NL = 10;
const MINUS = 45;
const ERRNO_EQ = Array.from("errno=", (c) => c.charCodeAt(0));

/**
 * Whether `buf[0, len)` ends with the reply's last line, `errno=N` and the
 * blank line (`(^|\n)errno=-?\d+\n\n$`), checked on the bytes so a reply read
 * in many chunks is decoded once.
 */
export function replyComplete(buf: Uint8Array, len: number): boolean {
  if (len < 9 || buf[len - 1] !== NL || buf[len - 2] !== NL) return false;
  let i = len - 3;
  const lastDigit = i;
  while (i >= 0 && buf[i]! >= 48 && buf[i]! <= 57) i--;
  if (i === lastDigit) return false;
  if (i >= 0 && buf[i] === MINUS) i--;
  const start = i - ERRNO_EQ.length + 1;
  if (start < 0) return false;
  for (let k = 0; k < ERRNO_EQ.length; k++) {
    if (buf[start + k] !== ERRNO_EQ[k]) return false;
  }
  return start === 0 || buf[start - 1] === NL;
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
