/**
 * Link messages: encoders for RTM_NEWLINK (plain kind, veth pair, set
 * up/MTU), RTM_DELLINK and the RTM_GETLINK dump; a parser for replies.
 *
 * @module
 */
import { AttributeDecoder } from "../netlink/decoder.ts";
import type { NetlinkEncoder } from "../netlink/encoder.ts";
import {
  buildMessage,
  type NetlinkMessage,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import {
  IFF_UP,
  IFLA,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  RTM,
  VETH_INFO_PEER,
} from "./constants.ts";

/** A link as the kernel reports it. */
export interface Link {
  index: number;
  name: string;
  /** `IFLA_INFO_KIND` (`veth`, `wireguard`, `tun`, ...), "" for none. */
  kind: string;
  /** MAC as `aa:bb:..`, "" when the link has none. */
  mac: string;
  mtu: number;
  /** `ifi_type` (ARPHRD_*: 1 ethernet, 772 loopback, 65534 none). */
  type: number;
  /** `ifi_flags` (IFF_*). */
  flags: number;
  /** Administratively up (`IFF_UP`). */
  up: boolean;
}

/** Changes for {@linkcode encodeSetLink}; absent = unchanged. */
export interface LinkChange {
  /** Set up (true) or down (false). */
  up?: boolean;
  mtu?: number;
}

/** Throws TypeError unless `name` is a valid interface name (1 to 15 bytes, no "/" or space). */
export function checkIfName(name: string): string {
  const len = new TextEncoder().encode(name).length;
  if (len < 1 || len > 15 || /[\s/]/.test(name)) {
    throw new TypeError(
      `Cannot use interface name "${name}": it must be 1 to 15 bytes without "/" or spaces`,
    );
  }
  return name;
}

function ifinfo(e: NetlinkEncoder, index = 0, flags = 0, change = 0): void {
  e.u8(0).u8(0).u16(0).i32(index).u32(flags).u32(change);
}

/** RTM_GETLINK dump request. */
export function encodeGetLinks(): Uint8Array<ArrayBuffer> {
  return buildMessage(
    RTM.GETLINK,
    NLM_F_REQUEST | NLM_F_DUMP,
    (e) => ifinfo(e),
  );
}

/** RTM_NEWLINK creating a link of `kind` (e.g. `wireguard`, `bridge`). */
export function encodeNewLink(
  name: string,
  kind: string,
): Uint8Array<ArrayBuffer> {
  return buildMessage(
    RTM.NEWLINK,
    NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
    (e) => {
      ifinfo(e);
      e.attrString(IFLA.IFNAME, checkIfName(name));
      e.nested(IFLA.LINKINFO, (l) => l.attrString(IFLA_INFO_KIND, kind));
    },
  );
}

/**
 * RTM_NEWLINK creating a veth pair; `peerNetnsFd` moves the peer end into
 * the netns behind that open file descriptor.
 */
export function encodeNewVeth(
  name: string,
  peer: string,
  peerNetnsFd?: number,
): Uint8Array<ArrayBuffer> {
  return buildMessage(
    RTM.NEWLINK,
    NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
    (e) => {
      ifinfo(e);
      e.attrString(IFLA.IFNAME, checkIfName(name));
      e.nested(IFLA.LINKINFO, (l) => {
        l.attrString(IFLA_INFO_KIND, "veth");
        l.nested(IFLA_INFO_DATA, (d) =>
          d.nested(VETH_INFO_PEER, (p) => {
            ifinfo(p);
            p.attrString(IFLA.IFNAME, checkIfName(peer));
            if (peerNetnsFd !== undefined) {
              p.attrU32(IFLA.NET_NS_FD, peerNetnsFd);
            }
          }));
      });
    },
  );
}

/** RTM_DELLINK by name. */
export function encodeDelLink(name: string): Uint8Array<ArrayBuffer> {
  return buildMessage(RTM.DELLINK, NLM_F_REQUEST, (e) => {
    ifinfo(e);
    e.attrString(IFLA.IFNAME, checkIfName(name));
  });
}

/** RTM_NEWLINK (no create) changing up/down and MTU of an existing link. */
export function encodeSetLink(
  name: string,
  change: LinkChange,
): Uint8Array<ArrayBuffer> {
  return buildMessage(RTM.NEWLINK, NLM_F_REQUEST, (e) => {
    const mask = change.up === undefined ? 0 : IFF_UP;
    ifinfo(e, 0, change.up ? IFF_UP : 0, mask);
    e.attrString(IFLA.IFNAME, checkIfName(name));
    if (change.mtu !== undefined) e.attrU32(IFLA.MTU, change.mtu);
  });
}

function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** Parses one RTM_NEWLINK reply; throws SyntaxError on a malformed one. */
export function parseLink(msg: NetlinkMessage): Link {
  const p = msg.payload;
  if (p.length < 16) {
    throw new SyntaxError("Cannot parse link: short ifinfomsg");
  }
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const flags = v.getUint32(8, true);
  const link: Link = {
    index: v.getInt32(4, true),
    name: "",
    kind: "",
    mac: "",
    mtu: 0,
    type: v.getUint16(2, true),
    flags,
    up: (flags & IFF_UP) !== 0,
  };
  const d = new AttributeDecoder(p.subarray(16));
  while (d.next()) {
    switch (d.type) {
      case IFLA.IFNAME:
        link.name = d.string();
        break;
      case IFLA.ADDRESS:
        link.mac = formatMac(d.bytes());
        break;
      case IFLA.MTU:
        link.mtu = d.u32();
        break;
      case IFLA.LINKINFO:
        d.nested((li) => {
          while (li.next()) {
            if (li.type === IFLA_INFO_KIND) link.kind = li.string();
          }
        });
        break;
    }
  }
  if (d.err) throw d.err;
  return link;
}
