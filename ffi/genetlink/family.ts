/**
 * Generic netlink: the `genlmsghdr`, and family resolution through the
 * `nlctrl` controller (CTRL_CMD_GETFAMILY).
 *
 * @module
 */
import { AttributeDecoder } from "../netlink/decoder.ts";
import type { NetlinkEncoder } from "../netlink/encoder.ts";
import { NetlinkError, NotFoundError } from "../netlink/errors.ts";
import {
  buildMessage,
  type NetlinkMessage,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import type { NetlinkClient } from "../netlink/conn.ts";

/** Message type of the generic netlink controller. */
export const GENL_ID_CTRL = 16;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const CTRL_ATTR_VERSION = 3;
const CTRL_ATTR_MCAST_GROUPS = 7;
const CTRL_ATTR_MCAST_GRP_NAME = 1;
const CTRL_ATTR_MCAST_GRP_ID = 2;
/** Size of `struct genlmsghdr`. */
export const GENL_HDRLEN = 4;

/** A resolved generic netlink family. */
export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  /** Multicast group name → id. */
  groups: Record<string, number>;
}

/** Writes a `genlmsghdr`. */
export function genlHeader(e: NetlinkEncoder, cmd: number, version: number) {
  e.u8(cmd).u8(version).u16(0);
}

/** Builds a generic netlink message for family `id`. */
export function buildGenlMessage(
  id: number,
  flags: number,
  cmd: number,
  version: number,
  body: (e: NetlinkEncoder) => void,
): Uint8Array<ArrayBuffer> {
  return buildMessage(id, flags, (e) => {
    genlHeader(e, cmd, version);
    body(e);
  });
}

/** CTRL_CMD_GETFAMILY request for `name`. */
export function encodeGetFamily(name: string): Uint8Array<ArrayBuffer> {
  return buildGenlMessage(
    GENL_ID_CTRL,
    NLM_F_REQUEST,
    CTRL_CMD_GETFAMILY,
    1,
    (e) => e.attrString(CTRL_ATTR_FAMILY_NAME, name),
  );
}

/** Parses the controller's reply to CTRL_CMD_GETFAMILY. */
export function parseFamily(msg: NetlinkMessage): GenlFamily {
  const fam: GenlFamily = { id: 0, name: "", version: 0, groups: {} };
  const d = new AttributeDecoder(msg.payload.subarray(GENL_HDRLEN));
  while (d.next()) {
    switch (d.type) {
      case CTRL_ATTR_FAMILY_ID:
        fam.id = d.u16();
        break;
      case CTRL_ATTR_FAMILY_NAME:
        fam.name = d.string();
        break;
      case CTRL_ATTR_VERSION:
        fam.version = d.u32();
        break;
      case CTRL_ATTR_MCAST_GROUPS:
        d.nested((groups) => {
          while (groups.next()) {
            groups.nested((g) => {
              let name = "";
              let id = 0;
              while (g.next()) {
                if (g.type === CTRL_ATTR_MCAST_GRP_NAME) name = g.string();
                else if (g.type === CTRL_ATTR_MCAST_GRP_ID) id = g.u32();
              }
              if (name) fam.groups[name] = id;
            });
          }
        });
        break;
    }
  }
  if (d.err) throw d.err;
  if (fam.id === 0) {
    throw new SyntaxError("Cannot parse generic netlink family: no family id");
  }
  return fam;
}

/**
 * Resolves a family on a NETLINK_GENERIC socket. Throws NotFoundError with
 * a clear message when the kernel does not know it (module not loaded).
 */
export async function resolveFamily(
  sock: NetlinkClient,
  name: string,
): Promise<GenlFamily> {
  const operation = `resolve generic netlink family "${name}"`;
  let replies: NetlinkMessage[];
  try {
    replies = await sock.request(operation, encodeGetFamily(name));
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new NotFoundError({
        operation,
        errno: err.errno,
        extAckMessage:
          `the kernel has no "${name}" family (module not loaded or not built)`,
        cause: err,
      });
    }
    throw err;
  }
  const reply = replies[0];
  if (!reply) {
    throw new NetlinkError({
      operation: `${operation}: empty reply`,
      errno: 71,
    });
  }
  return parseFamily(reply);
}
