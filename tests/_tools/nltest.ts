/**
 * A fake netlink connection for unit tests, in the spirit of mdlayher's
 * `nltest`: {@linkcode dial} returns a `NetlinkConn` that hands every
 * request message to a {@linkcode Handler} and queues its replies (with the
 * request's sequence number) for the client to receive, one datagram per
 * reply. No socket is opened, so request building and error mapping of
 * `RtNetlink`, `Nftables` and `KernelWireGuard` run without root.
 *
 * Like the kernel, the fake ACKs a request flagged `NLM_F_ACK` whose
 * replies do not already end with an `NLMSG_ERROR`.
 *
 * @example
 * ```ts ignore
 * const conn = dial(byType({ [RTM.GETLINK]: dump(await loadFixture("links.hex")) }));
 * const rt = await RtNetlink.open({ conn });
 * ```
 *
 * @module
 */
import type { NetlinkConn } from "../../ffi/netlink/conn.ts";
import { NetlinkEncoder } from "../../ffi/netlink/encoder.ts";
import {
  type NetlinkMessage,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseMessages,
} from "../../ffi/netlink/message.ts";

/** Replies to one request (sequence numbers are set by the fake). */
export type Handler = (request: NetlinkMessage) => NetlinkMessage[];

/** The fake connection. */
export interface FakeConn extends NetlinkConn {
  /** Every request message received, in order. */
  readonly requests: NetlinkMessage[];
  /** Whether `close` was called. */
  readonly closed: boolean;
}

const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

/** The wire bytes of a message (header included). */
export function messageBytes(m: NetlinkMessage): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(16 + m.payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, m.type, true);
  v.setUint16(6, m.flags, true);
  v.setUint32(8, m.seq, true);
  v.setUint32(12, m.pid, true);
  out.set(m.payload, 16);
  return out;
}

/** A request's bytes with the sequence number zeroed, to compare with an encoder's output. */
export function requestBytes(m: NetlinkMessage): Uint8Array<ArrayBuffer> {
  return messageBytes({ ...m, seq: 0 });
}

/** A connection answering each request with `handler`. */
export function dial(handler: Handler): FakeConn {
  const queue: Uint8Array<ArrayBuffer>[] = [];
  const requests: NetlinkMessage[] = [];
  let closed = false;
  return {
    requests,
    get closed() {
      return closed;
    },
    send(bytes, operation) {
      if (closed) throw new Error(`nltest: ${operation}: send after close`);
      for (const req of parseMessages(bytes.slice())) {
        requests.push(req);
        const replies = [...handler(req)];
        const last = replies.at(-1);
        if ((req.flags & NLM_F_ACK) !== 0 && last?.type !== NLMSG_ERROR) {
          replies.push(errorMessage(req, 0));
        }
        for (const r of replies) {
          queue.push(messageBytes({ ...r, seq: req.seq, pid: 0 }));
        }
      }
    },
    receive(operation) {
      if (closed) throw new Error(`nltest: ${operation}: receive after close`);
      const next = queue.shift();
      // nothing queued: the kernel would not answer either (a timeout)
      return next === undefined ? undefined : parseMessages(next);
    },
    close() {
      closed = true;
    },
  };
}

/**
 * Routes requests by message type; a type without an entry throws, so an
 * unexpected request fails the test loudly.
 */
export function byType(table: Record<number, Handler>): Handler {
  return (req) => {
    const h = table[req.type];
    if (!h) {
      throw new Error(
        `nltest: no reply for message type ${req.type} (flags 0x${
          req.flags.toString(16)
        })`,
      );
    }
    return h(req);
  };
}

/** Replies nothing but the ACK the fake adds to an `NLM_F_ACK` request. */
export function ack(): Handler {
  return () => [];
}

/** Replies with `msgs` as they are (e.g. a captured error or reply + ACK). */
export function replay(msgs: NetlinkMessage[]): Handler {
  return () => msgs.map((m) => ({ ...m }));
}

/**
 * A multipart dump reply: `msgs` flagged `NLM_F_MULTI`, ended by one
 * `NLMSG_DONE` (a captured dump's own DONE is kept, not doubled).
 */
export function dump(msgs: NetlinkMessage[]): Handler {
  return () => {
    const parts = msgs.filter((m) => m.type !== NLMSG_DONE).map((m) => ({
      ...m,
      flags: m.flags | NLM_F_MULTI,
    }));
    const done = msgs.find((m) => m.type === NLMSG_DONE) ?? {
      type: NLMSG_DONE,
      flags: NLM_F_MULTI,
      seq: 0,
      pid: 0,
      payload: new Uint8Array(4),
    };
    return [...parts, done];
  };
}

/** Extended-ACK attributes of an error reply. */
export interface ExtAck {
  /** `NLMSGERR_ATTR_MSG`. */
  message?: string;
  /** `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the request. */
  offset?: number;
}

/**
 * An `NLMSG_ERROR` for `req` as a kernel with `NETLINK_CAP_ACK` sends it:
 * `-errno` (0 = ACK), the request header, then the extended-ACK attributes.
 */
export function errorMessage(
  req: NetlinkMessage,
  errno: number,
  ext: ExtAck = {},
): NetlinkMessage {
  const e = new NetlinkEncoder();
  e.i32(-errno).bytes(messageBytes({ ...req, payload: new Uint8Array() }));
  let flags = NLM_F_CAPPED;
  if (ext.message !== undefined || ext.offset !== undefined) {
    flags |= NLM_F_ACK_TLVS;
    if (ext.message !== undefined) e.attrString(NLMSGERR_ATTR_MSG, ext.message);
    if (ext.offset !== undefined) e.attrU32(NLMSGERR_ATTR_OFFS, ext.offset);
  }
  // the header length field of the echoed request stays the original one
  const payload = e.finish();
  new DataView(payload.buffer).setUint32(
    4,
    16 + req.payload.length,
    true,
  );
  return { type: NLMSG_ERROR, flags, seq: req.seq, pid: 0, payload };
}

/** Replies with errno `n` (and extended-ACK attributes). */
export function errno(n: number, ext: ExtAck = {}): Handler {
  return (req) => [errorMessage(req, n, ext)];
}
