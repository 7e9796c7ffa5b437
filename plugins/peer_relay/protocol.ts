/**
 * The relay's control messages: small JSON datagrams sent over the mesh
 * (inside WireGuard) to the relay's mesh address, so the sender's mesh
 * address says who asks. Pure encode/decode; anything malformed is
 * `undefined` (the relay stays silent).
 *
 * @module
 */
import { parseKey } from "../../core/identity/keys.ts";

/** Version of the control messages. */
export const PROTOCOL_VERSION = 1;

/** A box asks about (and with `use`, for legs of) its pair with `peer`. */
export interface JoinRequest {
  op: "join";
  id: number;
  /** The other end's public key. */
  peer: string;
  use: boolean;
}

/** Traffic for a direct probe; never answered. */
export interface Poke {
  op: "poke";
}

/** The relay's answer to a join. */
export interface JoinReply {
  op: "joined";
  id: number;
  peer: string;
  joined: boolean;
  leg?: number;
  refused?: string;
}

/** Any control message. */
export type ControlMessage = JoinRequest | Poke | JoinReply;

function isKey(v: unknown): v is string {
  if (typeof v !== "string") return false;
  try {
    parseKey(v);
    return true;
  } catch {
    return false;
  }
}

/** Encodes a message as one datagram. */
export function encodeMessage(m: ControlMessage): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ v: PROTOCOL_VERSION, ...m }),
  );
}

/** Decodes a datagram; `undefined` for anything not a valid message. */
export function decodeMessage(bytes: Uint8Array): ControlMessage | undefined {
  if (bytes.length > 1024) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) return undefined;
  const id = m.id;
  const okId = Number.isSafeInteger(id) && (id as number) >= 0;
  const okPeer = isKey(m.peer);
  switch (m.op) {
    case "poke":
      return { op: "poke" };
    case "join":
      if (!okId || !okPeer || typeof m.use !== "boolean") return undefined;
      return {
        op: "join",
        id: id as number,
        peer: m.peer as string,
        use: m.use,
      };
    case "joined": {
      if (!okId || !okPeer || typeof m.joined !== "boolean") return undefined;
      const reply: JoinReply = {
        op: "joined",
        id: id as number,
        peer: m.peer as string,
        joined: m.joined,
      };
      if (
        Number.isInteger(m.leg) && (m.leg as number) > 0 &&
        (m.leg as number) <= 65535
      ) reply.leg = m.leg as number;
      if (typeof m.refused === "string") {
        reply.refused = m.refused.slice(0, 200);
      }
      return reply;
    }
    default:
      return undefined;
  }
}
