/**
 * A netlink socket: open (optionally inside another netns through
 * `setns`), request/ACK with extended-ACK errors, dumps, chunked batches
 * with bounded ACK draining, one-shot transactions (nfnetlink) and an async
 * receive that never keeps the process alive.
 *
 * @module
 */
import { concatBytes } from "../../core/encoding/bytes.ts";
import { errno, libc } from "../_libc.ts";
import { inNetns } from "./netns.ts";
import { NetlinkError, netlinkError } from "./errors.ts";
import {
  doneErrno,
  type NetlinkMessage,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseErrorPayload,
  parseMessages,
  setSequence,
} from "./message.ts";

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

/** Options of {@linkcode NetlinkSocket.batch}. */
export interface BatchOptions {
  /** Messages per `sendto`; the ACKs are drained after each. @default 128 */
  chunkSize?: number;
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
 * Throws the error an exchange ended with, else returns the replies
 * without the terminating ACK / DONE.
 */
export function checkReplies(
  operation: string,
  replies: NetlinkMessage[],
): NetlinkMessage[] {
  const last = replies[replies.length - 1];
  if (last?.type === NLMSG_ERROR) {
    const e = parseErrorPayload(last);
    if (e.errno !== 0) throw netlinkError({ operation, ...e });
  } else if (last?.type === NLMSG_DONE) {
    const e = doneErrno(last);
    if (e > 0) throw netlinkError({ operation, errno: e });
  }
  return replies.filter((m) => m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE);
}

/**
 * A raw netlink socket of one protocol, bound in one netns.
 *
 * @example
 * ```ts ignore
 * const sock = await NetlinkSocket.open(Protocol.ROUTE, { netns: "node1" });
 * const links = await sock.dump("list links", encodeGetLinks());
 * sock.close();
 * ```
 */
export class NetlinkSocket {
  readonly #fd: number;
  readonly #buf: Uint8Array<ArrayBuffer>;
  #asyncBuf: Uint8Array<ArrayBuffer> | undefined;
  #seq = Math.floor(Math.random() * 0x7fffffff);
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

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    if (this.#seq === 0) this.#seq = 1;
    return this.#seq;
  }

  #send(bytes: Uint8Array<ArrayBuffer>, operation: string): void {
    if (this.#closed) {
      throw new NetlinkError({ operation, errno: 9 });
    }
    const addr = sockaddr(0);
    const n = Number(
      libc().sendto(this.#fd, bytes, BigInt(bytes.length), 0, addr, 12),
    );
    if (n < 0) throw netlinkError({ operation, errno: errno() });
  }

  /** One blocking read; undefined on timeout (or nothing, with DONTWAIT). */
  #recv(operation: string, flags = 0): NetlinkMessage[] | undefined {
    for (;;) {
      const n = Number(
        libc().recvfrom(
          this.#fd,
          this.#buf,
          BigInt(this.#buf.length),
          flags,
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

  #recvOrTimeout(operation: string): NetlinkMessage[] {
    const msgs = this.#recv(operation);
    if (!msgs) {
      throw new NetlinkError({
        operation: `${operation}: no reply from the kernel in time`,
        errno: 110,
      });
    }
    return msgs;
  }

  /**
   * Sends one message and returns every reply with its sequence number up
   * to and including the one that ends the exchange (`NLMSG_ERROR`, or
   * `NLMSG_DONE` for a dump), uninterpreted. Requests that are not dumps
   * get `NLM_F_ACK` so that they always end with an `NLMSG_ERROR`.
   */
  exchange(
    operation: string,
    message: Uint8Array<ArrayBuffer>,
  ): Promise<NetlinkMessage[]> {
    const msg = message.slice();
    const v = new DataView(msg.buffer);
    const flags = v.getUint16(6, true);
    if ((flags & NLM_F_DUMP) !== NLM_F_DUMP) {
      v.setUint16(6, flags | NLM_F_ACK, true);
    }
    const seq = this.#nextSeq();
    setSequence(msg, seq);
    this.#send(msg, operation);
    const out: NetlinkMessage[] = [];
    for (;;) {
      for (const m of this.#recvOrTimeout(operation)) {
        if (m.seq !== seq) continue;
        out.push(m);
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
          return Promise.resolve(out);
        }
      }
    }
  }

  /**
   * Sends one request and waits for its ACK; rejects with a typed error
   * carrying the extended-ACK text. Returns the other replies (e.g. a GET
   * answer).
   */
  async request(
    operation: string,
    message: Uint8Array<ArrayBuffer>,
  ): Promise<NetlinkMessage[]> {
    return checkReplies(operation, await this.exchange(operation, message));
  }

  /** Sends a dump request (`NLM_F_DUMP`) and collects every part. */
  async dump(
    operation: string,
    message: Uint8Array<ArrayBuffer>,
  ): Promise<NetlinkMessage[]> {
    return checkReplies(operation, await this.exchange(operation, message));
  }

  /**
   * Sends many independent requests, `chunkSize` per `sendto`, each with
   * `NLM_F_ACK`, and drains the ACKs after every chunk (so the receive
   * buffer never overflows). Stops after the first chunk with a failure
   * and throws the first failure, described by `describe(index)`.
   */
  batch(
    describe: (index: number) => string,
    messages: readonly Uint8Array<ArrayBuffer>[],
    options: BatchOptions = {},
  ): Promise<void> {
    const size = Math.max(1, options.chunkSize ?? 128);
    for (let start = 0; start < messages.length; start += size) {
      const chunk = messages.slice(start, start + size).map((m) => {
        const c = m.slice();
        const v = new DataView(c.buffer);
        v.setUint16(6, v.getUint16(6, true) | NLM_F_ACK, true);
        return c;
      });
      const seqs = new Map<number, number>();
      chunk.forEach((m, i) => {
        const seq = this.#nextSeq();
        setSequence(m, seq);
        seqs.set(seq, start + i);
      });
      this.#send(concatBytes(chunk), describe(start));
      const failure = this.#collectAcks(seqs, describe, describe(start), false);
      if (failure) return Promise.reject(failure);
    }
    return Promise.resolve();
  }

  /**
   * Reads ACKs for the sequence numbers in `seqs` (seq → message index)
   * until all arrived, or, with `stopAtError`, until the first error (the
   * kernel sends nothing more for an aborted nfnetlink batch). Then drains
   * whatever is still queued without blocking. Returns the first failure.
   */
  #collectAcks(
    seqs: Map<number, number>,
    describe: (index: number) => string,
    operation: string,
    stopAtError: boolean,
  ): NetlinkError | undefined {
    let failure: NetlinkError | undefined;
    const take = (msgs: NetlinkMessage[]) => {
      for (const m of msgs) {
        const index = seqs.get(m.seq);
        if (index === undefined || m.type !== NLMSG_ERROR) continue;
        seqs.delete(m.seq);
        const e = parseErrorPayload(m);
        if (e.errno !== 0 && !failure) {
          failure = netlinkError({ operation: describe(index), ...e });
        }
      }
    };
    while (seqs.size > 0 && !(stopAtError && failure)) {
      take(this.#recvOrTimeout(operation));
    }
    for (;;) {
      const rest = this.#recv(operation, MSG_DONTWAIT);
      if (!rest) break;
      take(rest);
    }
    return failure;
  }

  /**
   * Sends a whole nfnetlink transaction in one `sendto` (the caller puts
   * the batch begin/end around `messages`). Waits for the ACK of every
   * message flagged `NLM_F_ACK` or the first error, then drains what is
   * left without blocking. Rejects with the first error.
   */
  transaction(
    describe: (index: number) => string,
    messages: readonly Uint8Array<ArrayBuffer>[],
  ): Promise<void> {
    const seqs = new Map<number, number>();
    const copies = messages.map((m, i) => {
      const c = m.slice();
      const seq = this.#nextSeq();
      setSequence(c, seq);
      if ((new DataView(c.buffer).getUint16(6, true) & NLM_F_ACK) !== 0) {
        seqs.set(seq, i);
      }
      return c;
    });
    this.#send(concatBytes(copies), describe(-1));
    const failure = this.#collectAcks(seqs, describe, describe(-1), true);
    return failure ? Promise.reject(failure) : Promise.resolve();
  }

  /**
   * Waits for the next datagram without blocking the event loop (for
   * multicast listeners). Resolves `[]` when the receive timeout passes,
   * so a pending read never keeps the process alive for long.
   */
  async receive(): Promise<NetlinkMessage[]> {
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
