/**
 * Netlink message framing: the 16-byte `nlmsghdr`, a builder that patches
 * the length, a parser for a receive buffer, and the `NLMSG_ERROR` payload
 * with extended-ACK attributes.
 *
 * @module
 */
import { AttributeDecoder } from "./decoder.ts";
import { align4, NetlinkEncoder } from "./encoder.ts";

/** Netlink protocol numbers used here. */
export const Protocol = {
  ROUTE: 0,
  NETFILTER: 12,
  GENERIC: 16,
} as const;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** On an ACK: the request payload was not echoed. */
export const NLM_F_CAPPED = 0x100;
/** On an ACK: extended-ACK attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

/** Size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

/** A received message. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Payload after the header (a view into the receive buffer copy). */
  payload: Uint8Array;
}

/**
 * Builds one message: the header (sequence 0; the socket sets it) followed
 * by whatever `body` writes.
 */
export function buildMessage(
  type: number,
  flags: number,
  body: (e: NetlinkEncoder) => void,
): Uint8Array<ArrayBuffer> {
  const e = new NetlinkEncoder();
  e.u32(0).u16(type).u16(flags).u32(0).u32(0);
  body(e);
  e.pad();
  e.patchU32(0, e.length);
  return e.finish();
}

/** Sets the sequence number of an encoded message in place. */
export function setSequence(msg: Uint8Array, seq: number): void {
  new DataView(msg.buffer, msg.byteOffset, msg.byteLength).setUint32(
    8,
    seq >>> 0,
    true,
  );
}

/** Splits a buffer into messages; throws SyntaxError on a bad length. */
export function parseMessages(buf: Uint8Array): NetlinkMessage[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new SyntaxError(
        `Cannot parse netlink message: length ${len} at offset ${off} is invalid`,
      );
    }
    out.push({
      type: v.getUint16(off + 4, true),
      flags: v.getUint16(off + 6, true),
      seq: v.getUint32(off + 8, true),
      pid: v.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** A decoded `NLMSG_ERROR` (errno 0 = ACK). */
export interface ErrorPayload {
  /** Positive errno, 0 for success. */
  errno: number;
  extAckMessage?: string;
  extAckOffset?: number;
}

/** Decodes the payload of an `NLMSG_ERROR` message. */
export function parseErrorPayload(msg: NetlinkMessage): ErrorPayload {
  const p = msg.payload;
  if (p.length < 4) {
    throw new SyntaxError("Cannot parse netlink error: payload is too short");
  }
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const out: ErrorPayload = { errno: -v.getInt32(0, true) || 0 };
  if ((msg.flags & NLM_F_ACK_TLVS) === 0 || p.length < 4 + NLMSG_HDRLEN) {
    return out;
  }
  const origLen = v.getUint32(4, true);
  const skip = (msg.flags & NLM_F_CAPPED) !== 0
    ? NLMSG_HDRLEN
    : align4(origLen);
  const d = new AttributeDecoder(p.subarray(Math.min(4 + skip, p.length)));
  while (d.next()) {
    if (d.type === NLMSGERR_ATTR_MSG) out.extAckMessage = d.string();
    else if (d.type === NLMSGERR_ATTR_OFFS) out.extAckOffset = d.u32();
  }
  return out;
}

/** The payload of `NLMSG_DONE`: a negative errno when the dump failed. */
export function doneErrno(msg: NetlinkMessage): number {
  if (msg.payload.length < 4) return 0;
  const v = new DataView(msg.payload.buffer, msg.payload.byteOffset, 4);
  return -v.getInt32(0, true) || 0;
}
