/**
 * Hex fixtures of captured netlink replies: one full message (header
 * included) per line; `#` lines are comments.
 *
 * @module
 */
import {
  type NetlinkMessage,
  parseMessages,
} from "../../ffi/netlink/message.ts";
import { messageBytes } from "../_tools/nltest.ts";

export { messageBytes };

const DIR = new URL("./fixtures/", import.meta.url);

/** Hex text of bytes. */
export function toHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Bytes of hex text (whitespace ignored). */
export function fromHex(s: string): Uint8Array<ArrayBuffer> {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/** Writes messages as a fixture file. */
export async function saveFixture(
  name: string,
  comment: string,
  msgs: NetlinkMessage[],
): Promise<void> {
  const lines = [`# ${comment}`, ...msgs.map((m) => toHex(messageBytes(m)))];
  await Deno.writeTextFile(new URL(name, DIR), lines.join("\n") + "\n");
}

/** Reads a fixture file back into messages. */
export async function loadFixture(name: string): Promise<NetlinkMessage[]> {
  const text = await Deno.readTextFile(new URL(name, DIR));
  return text.split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .flatMap((l) => parseMessages(fromHex(l)));
}
