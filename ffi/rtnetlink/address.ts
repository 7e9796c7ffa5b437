/**
 * Address messages: RTM_NEWADDR/RTM_DELADDR encoders, the RTM_GETADDR dump
 * and a reply parser.
 *
 * @module
 */
import { AttributeDecoder } from "../netlink/decoder.ts";
import {
  buildMessage,
  type NetlinkMessage,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import { formatIP, ipFromBytes, parsePrefix } from "../../core/netaddr/ip.ts";
import {
  AF_UNSPEC,
  afOf,
  familyOf,
  IFA,
  IFA_F_NODAD,
  IFA_F_PERMANENT,
  RT_SCOPE_UNIVERSE,
  RTM,
} from "./constants.ts";

/** An address as the kernel reports it. */
export interface Address {
  family: 4 | 6;
  ifindex: number;
  /** `10.0.0.1/24` (the local address with the prefix length). */
  address: string;
  scope: number;
  /** IFA_F_* flags. */
  flags: number;
}

/** RTM_GETADDR dump of both families. */
export function encodeGetAddresses(): Uint8Array<ArrayBuffer> {
  return buildMessage(RTM.GETADDR, NLM_F_REQUEST | NLM_F_DUMP, (e) => {
    e.u8(AF_UNSPEC).u8(0).u8(0).u8(0).u32(0);
  });
}

/**
 * RTM_NEWADDR (add, failing if present) or RTM_DELADDR of `address`
 * (`fd00::1/64`) on the link with index `ifindex`. IPv6 addresses skip DAD
 * so they are usable at once.
 */
export function encodeAddress(
  op: "add" | "delete",
  ifindex: number,
  address: string,
): Uint8Array<ArrayBuffer> {
  const p = parsePrefix(address);
  const type = op === "add" ? RTM.NEWADDR : RTM.DELADDR;
  const flags = op === "add"
    ? NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
    : NLM_F_REQUEST;
  const ifaFlags = IFA_F_PERMANENT | (p.ip.family === 6 ? IFA_F_NODAD : 0);
  return buildMessage(type, flags, (e) => {
    e.u8(afOf(p.ip.family)).u8(p.bits).u8(ifaFlags).u8(RT_SCOPE_UNIVERSE);
    e.u32(ifindex);
    e.attrBytes(IFA.LOCAL, p.ip.bytes);
    e.attrBytes(IFA.ADDRESS, p.ip.bytes);
    if (op === "add") e.attrU32(IFA.FLAGS, ifaFlags);
  });
}

/** Parses one RTM_NEWADDR reply; undefined for families other than 4/6. */
export function parseAddress(msg: NetlinkMessage): Address | undefined {
  const p = msg.payload;
  if (p.length < 8) {
    throw new SyntaxError("Cannot parse address: short ifaddrmsg");
  }
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const family = familyOf(v.getUint8(0));
  if (!family) return undefined;
  const length = v.getUint8(1);
  let flags = v.getUint8(2);
  let local: Uint8Array | undefined;
  let addr: Uint8Array | undefined;
  const d = new AttributeDecoder(p.subarray(8));
  while (d.next()) {
    if (d.type === IFA.LOCAL) local = d.copy();
    else if (d.type === IFA.ADDRESS) addr = d.copy();
    else if (d.type === IFA.FLAGS) flags = d.u32();
  }
  if (d.err) throw d.err;
  const ip = local ?? addr;
  if (!ip) {
    throw new SyntaxError("Cannot parse address: no IFA_LOCAL/IFA_ADDRESS");
  }
  return {
    family,
    ifindex: v.getUint32(4, true),
    address: `${formatIP(ipFromBytes(ip))}/${length}`,
    scope: v.getUint8(3),
    flags,
  };
}
