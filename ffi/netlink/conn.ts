/**
 * The netlink exchange over any connection: {@linkcode NetlinkConn} is the
 * transport (send a datagram, receive one, close), implemented by the real
 * {@linkcode NetlinkSocket} and by the fake of `tests/_tools/nltest.ts`;
 * {@linkcode NetlinkClient} does the protocol on top of it: sequence
 * numbers, request/ACK with extended-ACK errors, dumps, chunked batches
 * with bounded ACK draining, and one-shot nfnetlink transactions.
 *
 * The transport is synchronous on purpose: one exchange runs to its end
 * without yielding to the event loop, so two callers sharing a socket never
 * read each other's replies.
 *
 * @module
 */
import { concatBytes } from "../../core/encoding/bytes.ts";
import { NetlinkError, netlinkError } from "./errors.ts";
import { NetlinkSocket } from "./socket.ts";
import {
  doneErrno,
  type NetlinkMessage,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseErrorPayload,
  setSequence,
} from "./message.ts";

/** A netlink transport: datagrams of whole messages. */
export interface NetlinkConn {
  /**
   * Sends one datagram holding one or more encoded messages (their
   * sequence numbers already set). Throws a NetlinkError on failure.
   */
  send(bytes: Uint8Array<ArrayBuffer>, operation: string): void;
  /**
   * Receives the messages of one datagram. With `wait`, blocks up to the
   * connection's receive timeout; without, returns only what is queued.
   * Undefined when nothing came.
   */
  receive(operation: string, wait: boolean): NetlinkMessage[] | undefined;
  /** Releases the connection; later sends fail. Safe to call twice. */
  close(): void;
}

/** Options of {@linkcode NetlinkClient.open}. */
export interface NetlinkOpenOptions {
  /** Netns name (under /run/netns) or path; absent = the caller's. */
  netns?: string;
  /**
   * A connection to use instead of a new socket (e.g. the fake of
   * `tests/_tools/nltest.ts`); the client owns and closes it.
   */
  conn?: NetlinkConn;
}

/** Options of {@linkcode NetlinkClient.batch}. */
export interface BatchOptions {
  /** Messages per `sendto`; the ACKs are drained after each. @default 128 */
  chunkSize?: number;
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

function withAck(message: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const c = message.slice();
  const v = new DataView(c.buffer);
  v.setUint16(6, v.getUint16(6, true) | NLM_F_ACK, true);
  return c;
}

/**
 * Requests, dumps, batches and transactions over one {@linkcode NetlinkConn}.
 *
 * @example
 * ```ts ignore
 * const nl = new NetlinkClient(await NetlinkSocket.open(Protocol.ROUTE));
 * const links = await nl.dump("list links", encodeGetLinks());
 * nl.close();
 * ```
 */
export class NetlinkClient {
  readonly #conn: NetlinkConn;
  #seq = Math.floor(Math.random() * 0x7fffffff);

  /** A client owning `conn` (closing the client closes it). */
  constructor(conn: NetlinkConn) {
    this.#conn = conn;
  }

  /**
   * A client over `options.conn`, or over a new socket of `protocol`
   * (inside `options.netns` when given).
   */
  static async open(
    protocol: number,
    options: NetlinkOpenOptions = {},
  ): Promise<NetlinkClient> {
    if (options.conn !== undefined) {
      if (options.netns !== undefined) {
        throw new TypeError(
          "Cannot open netlink: give either a netns or a connection, not both",
        );
      }
      return new NetlinkClient(options.conn);
    }
    return new NetlinkClient(
      await NetlinkSocket.open(
        protocol,
        options.netns === undefined ? {} : { netns: options.netns },
      ),
    );
  }

  /** Closes the connection. Safe to call twice. */
  close(): void {
    this.#conn.close();
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    if (this.#seq === 0) this.#seq = 1;
    return this.#seq;
  }

  #receiveOrTimeout(operation: string): NetlinkMessage[] {
    const msgs = this.#conn.receive(operation, true);
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
    const flags = new DataView(message.buffer, message.byteOffset)
      .getUint16(6, true);
    const msg = (flags & NLM_F_DUMP) === NLM_F_DUMP
      ? message.slice()
      : withAck(message);
    const seq = this.#nextSeq();
    setSequence(msg, seq);
    this.#conn.send(msg, operation);
    const out: NetlinkMessage[] = [];
    for (;;) {
      for (const m of this.#receiveOrTimeout(operation)) {
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
      const chunk = messages.slice(start, start + size).map(withAck);
      const seqs = new Map<number, number>();
      chunk.forEach((m, i) => {
        const seq = this.#nextSeq();
        setSequence(m, seq);
        seqs.set(seq, start + i);
      });
      this.#conn.send(concatBytes(chunk), describe(start));
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
      take(this.#receiveOrTimeout(operation));
    }
    for (;;) {
      const rest = this.#conn.receive(operation, false);
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
    this.#conn.send(concatBytes(copies), describe(-1));
    const failure = this.#collectAcks(seqs, describe, describe(-1), true);
    return failure ? Promise.reject(failure) : Promise.resolve();
  }
}
