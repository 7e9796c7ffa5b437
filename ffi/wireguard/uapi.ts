/**
 * The userspace WireGuard backend: `WgBackend` over wireguard-go's UAPI unix
 * socket (`/var/run/wireguard/<ifname>.sock`), one connection per request.
 *
 * Deno needs net, read and write permission for a unix socket.
 *
 * @module
 */
import { NotFoundError } from "../netlink/errors.ts";
import { x25519PublicKey } from "../../core/identity/x25519_webcrypto.ts";
import { decodeKey } from "./kernel_codec.ts";
import {
  encodeSetBytes,
  parseGetReply,
  parseSetReply,
  replyComplete,
  UAPI_GET,
  uapiError,
} from "./uapi_codec.ts";
import type { WgBackend, WgDevice, WgDeviceConfig } from "./types.ts";

/** The UAPI socket directory wireguard-go and wg(8) hard-code. */
export const UAPI_DIR = "/var/run/wireguard";

/** Options of {@linkcode UserspaceWireGuard}. */
export interface UserspaceWireGuardOptions {
  /** Socket directory. @default "/var/run/wireguard" */
  socketDir?: string;
}

const dec = new TextDecoder();
const GET_REQUEST = new TextEncoder().encode(UAPI_GET);
// First read buffer sizes (a buffer doubles when nearly full): a `set=1`
// reply is one short line, a `get=1` reply of 1000 peers some 330 KB.
const SET_REPLY_BYTES = 256;
const GET_REPLY_BYTES = 64 * 1024;
/** The largest read buffer kept for the next request. */
const KEEP_BYTES = 4 * 1024 * 1024;

/**
 * The read buffer of the last finished request (zeroed), reused by the next
 * one so a device read every pass does not allocate and copy into fresh
 * buffers of a few hundred KiB. Taken while in use, so concurrent requests
 * get their own.
 */
let spareBuffer: Uint8Array<ArrayBuffer> | undefined;

/** The path of a device's UAPI socket. */
export function socketPath(name: string, dir = UAPI_DIR): string {
  if (!/^[A-Za-z0-9_.=+-]{1,15}$/.test(name)) {
    throw new TypeError(
      `Cannot use interface name "${name}": want 1-15 of [A-Za-z0-9_.=+-]`,
    );
  }
  return `${dir}/${name}.sock`;
}

/** What is at a UAPI socket path. */
export type SocketState =
  /** A process accepts connections. */
  | "alive"
  /** A socket file nobody listens on (its wireguard-go was killed). */
  | "stale"
  /** Nothing at the path. */
  | "absent";

/**
 * Probes a UAPI socket by connecting to it: a socket file outlives a
 * wireguard-go killed with SIGKILL, so only a connection tells whether it
 * is served. Errors other than "refused" and "not found" (e.g. permission)
 * are thrown.
 */
export async function probeSocket(path: string): Promise<SocketState> {
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return "alive";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "absent";
    if (err instanceof Deno.errors.ConnectionRefused) return "stale";
    throw err;
  }
}

/**
 * Sends one request and reads the reply up to its `errno=N` blank line,
 * straight into one buffer that doubles when nearly full.
 */
async function exchange(
  path: string,
  name: string,
  request: Uint8Array,
  operation: string,
  replyBytes: number,
): Promise<string> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound ||
      err instanceof Deno.errors.ConnectionRefused
    ) {
      throw new NotFoundError({
        operation,
        errno: 19,
        extAckMessage:
          `no wireguard-go listens on "${path}"; start wireguard-go for "${name}"`,
        cause: err,
      });
    }
    throw err;
  }
  try {
    for (let off = 0; off < request.length;) {
      off += await conn.write(request.subarray(off));
    }
    let buf = spareBuffer ?? new Uint8Array(replyBytes);
    spareBuffer = undefined;
    let len = 0;
    for (;;) {
      if (buf.length - len < buf.length / 4) {
        const next = new Uint8Array(2 * buf.length);
        next.set(buf.subarray(0, len));
        buf = next;
      }
      const n = await conn.read(buf.subarray(len));
      if (n === null) break;
      len += n;
      if (replyComplete(buf, len)) break;
    }
    const text = dec.decode(buf.subarray(0, len));
    if (buf.length <= KEEP_BYTES) {
      buf.fill(0, 0, len); // a get reply holds the private key
      spareBuffer = buf;
    }
    return text;
  } finally {
    conn.close();
  }
}

/** The public key of a base64 private key, via WebCrypto X25519. */
export function derivePublicKey(privateKey: string): Promise<string> {
  return x25519PublicKey(decodeKey(privateKey, "private key"));
}

/** wireguard-go devices configured over their UAPI sockets. */
export class UserspaceWireGuard implements WgBackend {
  readonly kind = "userspace" as const;
  readonly #dir: string;

  /** A backend for the sockets in `options.socketDir`. */
  constructor(options: UserspaceWireGuardOptions = {}) {
    this.#dir = options.socketDir ?? UAPI_DIR;
  }

  /**
   * Whether a wireguard-go serves `name`: its UAPI socket accepts a
   * connection (a stale socket file left by a killed process does not count).
   */
  async has(name: string): Promise<boolean> {
    return (await this.socketState(name)) === "alive";
  }

  /** What is at `name`'s UAPI socket path (see {@linkcode probeSocket}). */
  socketState(name: string): Promise<SocketState> {
    return probeSocket(socketPath(name, this.#dir));
  }

  /** Reads a device with every peer and its statistics. */
  async device(name: string): Promise<WgDevice> {
    const op = `read WireGuard device "${name}" over UAPI`;
    const text = await exchange(
      socketPath(name, this.#dir),
      name,
      GET_REQUEST,
      op,
      GET_REPLY_BYTES,
    );
    const reply = parseGetReply(text);
    const err = uapiError(op, reply.errno);
    if (err) throw err;
    const pub = reply.privateKey === ""
      ? ""
      : await derivePublicKey(reply.privateKey);
    return {
      name,
      publicKey: pub,
      listenPort: reply.listenPort,
      firewallMark: reply.firewallMark,
      peers: reply.peers,
    };
  }

  /** Applies `config` in one `set=1` request. */
  async configure(name: string, config: WgDeviceConfig): Promise<void> {
    const peers = config.peers?.length ?? 0;
    const op =
      `configure WireGuard device "${name}" over UAPI (${peers} peers)`;
    const text = await exchange(
      socketPath(name, this.#dir),
      name,
      encodeSetBytes(config),
      op,
      SET_REPLY_BYTES,
    );
    const err = uapiError(op, parseSetReply(text));
    if (err) throw err;
  }

  /** Nothing to release: every request uses its own connection. */
  close(): void {}
}
