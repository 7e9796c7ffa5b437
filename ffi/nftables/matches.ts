/**
 * Ready-made expression sequences for the statements the mesh needs,
 * each matching what `nft` itself generates for the same text.
 *
 * @module
 */
import type { NftExpr } from "./expressions.ts";

function u32Host(v: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function u16Be(v: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, false);
  return b;
}

/** `meta mark & mask == value`. */
export function markMatch(mask: number, value: number): NftExpr[] {
  return [
    { kind: "meta", key: "mark" },
    { kind: "bitwise", len: 4, mask: u32Host(mask), xor: u32Host(0) },
    { kind: "cmp", op: "eq", data: u32Host(value) },
  ];
}

/**
 * `meta mark set (meta mark & ~mask) ^ value` — only the bits in `mask`
 * change (nft prints it as `meta mark & ... | value`).
 */
export function markSet(mask: number, value: number): NftExpr[] {
  return [
    { kind: "meta", key: "mark" },
    { kind: "bitwise", len: 4, mask: u32Host(~mask), xor: u32Host(value) },
    { kind: "metaSet", key: "mark" },
  ];
}

/** `meta nfproto ipv4|ipv6` (needed before `ip daddr` in an inet table). */
export function nfproto(family: 4 | 6): NftExpr[] {
  return [
    { kind: "meta", key: "nfproto" },
    { kind: "cmp", op: "eq", data: new Uint8Array([family === 4 ? 2 : 10]) },
  ];
}

/** `ip daddr @set` / `ip6 daddr @set` in an inet table. */
export function daddrInSet(
  family: 4 | 6,
  set: string,
  setId?: number,
): NftExpr[] {
  return [
    ...nfproto(family),
    family === 4
      ? { kind: "payload", base: "network", offset: 16, len: 4 }
      : { kind: "payload", base: "network", offset: 24, len: 16 },
    { kind: "lookup", set, ...(setId === undefined ? {} : { setId }) },
  ];
}

/** `oifname "name"`. */
export function oifname(name: string): NftExpr[] {
  const data = new Uint8Array(16);
  data.set(new TextEncoder().encode(name).subarray(0, 15));
  return [
    { kind: "meta", key: "oifname" },
    { kind: "cmp", op: "eq", data },
  ];
}

/** `oifname != "name"`. */
export function oifnameNot(name: string): NftExpr[] {
  return oifname(name).map((x) => x.kind === "cmp" ? { ...x, op: "neq" } : x);
}

/** `tcp flags & (syn|rst) == syn` (with the `meta l4proto tcp` guard). */
export function tcpSyn(): NftExpr[] {
  return [
    { kind: "meta", key: "l4proto" },
    { kind: "cmp", op: "eq", data: new Uint8Array([6]) },
    { kind: "payload", base: "transport", offset: 13, len: 1 },
    {
      kind: "bitwise",
      len: 1,
      mask: new Uint8Array([0x06]),
      xor: new Uint8Array([0]),
    },
    { kind: "cmp", op: "eq", data: new Uint8Array([0x02]) },
  ];
}

/** `tcp option maxseg size > mss tcp option maxseg size set mss`. */
export function clampMss(mss: number): NftExpr[] {
  return [
    { kind: "tcpOption", type: 2, offset: 2, len: 2 },
    { kind: "cmp", op: "gt", data: u16Be(mss) },
    { kind: "immediate", data: u16Be(mss) },
    { kind: "tcpOption", type: 2, offset: 2, len: 2, sreg: 1 },
  ];
}

/** `tcp sport port` (with the `meta l4proto tcp` guard). */
export function tcpSourcePort(port: number): NftExpr[] {
  return [
    { kind: "meta", key: "l4proto" },
    { kind: "cmp", op: "eq", data: new Uint8Array([6]) },
    { kind: "payload", base: "transport", offset: 0, len: 2 },
    { kind: "cmp", op: "eq", data: u16Be(port) },
  ];
}

/** `counter`. */
export function counter(): NftExpr[] {
  return [{ kind: "counter" }];
}

/** `accept`. */
export function accept(): NftExpr[] {
  return [{ kind: "verdict", verdict: "accept" }];
}

/** `drop`. */
export function drop(): NftExpr[] {
  return [{ kind: "verdict", verdict: "drop" }];
}
