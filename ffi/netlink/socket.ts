/**
 * A netlink socket, the real {@linkcode NetlinkConn}: open (optionally
 * inside another netns through `setns`) with extended ACKs, send and
 * receive datagrams (blocking up to a timeout, or not at all), and an async
 * receive for multicast listeners that never keeps the process alive. The
 * protocol on top (requests, dumps, batches) is `NetlinkClient` in
 * `conn.ts`.
 *
 * @module
 */
import { errno, libc } from "../libc.ts";
import type { NetlinkConn } from "./conn.ts";
import { inNetns } from "./netns.ts";
import { NetlinkError, netlinkError } from "./errors.ts";
import { type NetlinkMessage, parseMessages } from "./message.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_DONTWAIT = 0x40;
const EINTR = 4;
const EAGAIN = 11;

/** Options of {@linkcode NetlinkSocket.open}. */
export interface NetlinkSocketOptions {
  /**
   * Network namespace: a name under `/run/netns` or an absolute path to a
   * netns file. Absent = the caller's netns.
   */
  netns?: string;
  /** Multicast group bitmask to join. @default 0 */
  groups?: number;
  /** Receive timeout; a blocked read gives up after this. @default 2000 */
  receiveTimeoutMs?: number;
  /** Bytes of one receive buffer. @default 262144 */
  receiveBufferSize?: number;
}

function check(rc: number, operation: string): number {
  if (rc < 0) throw netlinkError({ operation, errno: errno() });
  return rc;
}

function setIntOption(fd: number, level: number, name: number, v: number) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return libc().setsockopt(fd, level, name, b, 4);
}

function sockaddr(groups: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(8, groups >>> 0, true);
  return b;
}

/**
 * A raw netlink socket of one protocol, bound in one netns.
 *
 * @example
 * ```ts ignore
 * const sock = await NetlinkSocket.open(Protocol.ROUTE, { netns: "node1" });
 * const links = await new NetlinkClient(sock).dump("list links", encodeGetLinks());
 * sock.close();
 * ```
 */
export class NetlinkSocket implements NetlinkConn {
  readonly #fd: number;
  readonly #buf: Uint8Array<ArrayBuffer>;
  #asyncBuf: Uint8Array<ArrayBuffer> | undefined;
  #closed = false;
  /** The protocol number (`Protocol.ROUTE`, ...). */
  readonly protocol: number;

  private constructor(fd: number, protocol: number, bufSize: number) {
    this.#fd = fd;
    this.protocol = protocol;
    this.#buf = new Uint8Array(bufSize);
  }

  /** Opens and binds a socket, inside `options.netns` when given. */
  static open(
    protocol: number,
    options: NetlinkSocketOptions = {},
  ): Promise<NetlinkSocket> {
    const create = () =>
      check(
        libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol),
        `open netlink socket (protocol ${protocol})`,
      );
    const fd = options.netns ? inNetns(options.netns, create) : create();
    try {
      const c = libc();
      setIntOption(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      setIntOption(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      setIntOption(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
      if (setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20) < 0) {
        setIntOption(fd, SOL_SOCKET, SO_RCVBUF, 1 << 20);
      }
      const ms = options.receiveTimeoutMs ?? 2000;
      const tv = new Uint8Array(16);
      const tvv = new DataView(tv.buffer);
      tvv.setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
      tvv.setBigInt64(8, BigInt((ms % 1000) * 1000), true);
      check(
        c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16),
        "set the netlink receive timeout",
      );
      const addr = sockaddr(options.groups ?? 0);
      check(c.bind(fd, addr, addr.length), "bind netlink socket");
    } catch (err) {
      libc().close(fd);
      throw err;
    }
    return Promise.resolve(
      new NetlinkSocket(fd, protocol, options.receiveBufferSize ?? 262144),
    );
  }

  /** Closes the socket; later calls fail. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#fd);
  }

  /** Sends one datagram (see {@linkcode NetlinkConn.send}). */
  send(bytes: Uint8Array<ArrayBuffer>, operation: string): void {
    if (this.#closed) {
      throw new NetlinkError({ operation, errno: 9 });
    }
    const addr = sockaddr(0);
    const n = Number(
      libc().sendto(this.#fd, bytes, BigInt(bytes.length), 0, addr, 12),
    );
    if (n < 0) throw netlinkError({ operation, errno: errno() });
  }

  /**
   * One read (see {@linkcode NetlinkConn.receive}): blocking up to the
   * receive timeout, or with `MSG_DONTWAIT`; undefined when nothing came.
   */
  receive(operation: string, wait: boolean): NetlinkMessage[] | undefined {
    if (this.#closed) {
      throw new NetlinkError({ operation, errno: 9 });
    }
    for (;;) {
      const n = Number(
        libc().recvfrom(
          this.#fd,
          this.#buf,
          BigInt(this.#buf.length),
          wait ? 0 : MSG_DONTWAIT,
          null,
          null,
        ),
      );
      if (n >= 0) return parseMessages(this.#buf.slice(0, n));
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return undefined;
      throw netlinkError({ operation, errno: e });
    }
  }

  /**
   * Waits for the next datagram without blocking the event loop (for
   * multicast listeners). Resolves `[]` when the receive timeout passes,
   * so a pending read never keeps the process alive for long.
   */
  async receiveAsync(): Promise<NetlinkMessage[]> {
    this.#asyncBuf ??= new Uint8Array(this.#buf.length);
    const buf = this.#asyncBuf;
    const n = Number(
      await libc().recvfromAsync(
        this.#fd,
        buf,
        BigInt(buf.length),
        0,
        null,
        null,
      ),
    );
    // errno belongs to a worker thread here; only the result is usable.
    if (n < 0) return [];
    return parseMessages(buf.slice(0, n));
  }
}
