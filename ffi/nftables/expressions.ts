/**
 * nf_tables expressions as plain data, and their netlink encoding. Every
 * integer attribute is big-endian; data values are raw bytes (a mark is in
 * host order, addresses and ports in network order).
 *
 * @module
 */
import type { NetlinkEncoder } from "../netlink/encoder.ts";
import {
  DATA_A,
  EXPR_A,
  LIST_ELEM,
  NFT_REG_VERDICT,
  VERDICT,
  VERDICT_A,
} from "./constants.ts";

/** `meta` keys we use. */
export const META_KEY = {
  mark: 3,
  oifname: 7,
  nfproto: 15,
  l4proto: 16,
} as const;

/** `cmp` operators. */
export const CMP_OP = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;

/** Payload bases. */
export const PAYLOAD_BASE = { link: 0, network: 1, transport: 2 } as const;

/** One expression. Registers are `NFT_REG_1` (=1) unless stated. */
export type NftExpr =
  | { kind: "meta"; key: keyof typeof META_KEY; dreg?: number }
  | { kind: "metaSet"; key: keyof typeof META_KEY; sreg?: number }
  | { kind: "cmp"; op: keyof typeof CMP_OP; data: Uint8Array; sreg?: number }
  | {
    kind: "bitwise";
    len: number;
    mask: Uint8Array;
    xor: Uint8Array;
    sreg?: number;
    dreg?: number;
  }
  | {
    kind: "payload";
    base: keyof typeof PAYLOAD_BASE;
    offset: number;
    len: number;
    dreg?: number;
  }
  | { kind: "lookup"; set: string; setId?: number; sreg?: number }
  | { kind: "immediate"; data: Uint8Array; dreg?: number }
  | { kind: "verdict"; verdict: keyof typeof VERDICT }
  | { kind: "counter" }
  | {
    /** TCP option load (`dreg`) or store (`sreg`). */
    kind: "tcpOption";
    type: number;
    offset: number;
    len: number;
    dreg?: number;
    sreg?: number;
  };

const META = { DREG: 1, KEY: 2, SREG: 3 } as const;
const CMP = { SREG: 1, OP: 2, DATA: 3 } as const;
const BITWISE = { SREG: 1, DREG: 2, LEN: 3, MASK: 4, XOR: 5 } as const;
const PAYLOAD = { DREG: 1, BASE: 2, OFFSET: 3, LEN: 4 } as const;
const LOOKUP = { SET: 1, SREG: 2, SET_ID: 4 } as const;
const IMMEDIATE = { DREG: 1, DATA: 2 } as const;
const EXTHDR = { DREG: 1, TYPE: 2, OFFSET: 3, LEN: 4, OP: 6, SREG: 7 } as const;
const NFT_EXTHDR_OP_TCPOPT = 1;

function value(e: NetlinkEncoder, type: number, data: Uint8Array): void {
  e.nested(type, (d) => d.attrBytes(DATA_A.VALUE, data));
}

/** The kernel's name of an expression kind. */
export function exprName(x: NftExpr): string {
  switch (x.kind) {
    case "metaSet":
      return "meta";
    case "verdict":
      return "immediate";
    case "tcpOption":
      return "exthdr";
    default:
      return x.kind;
  }
}

function exprData(e: NetlinkEncoder, x: NftExpr): void {
  const r1 = 1;
  switch (x.kind) {
    case "meta":
      e.attrU32Be(META.KEY, META_KEY[x.key]).attrU32Be(META.DREG, x.dreg ?? r1);
      return;
    case "metaSet":
      e.attrU32Be(META.KEY, META_KEY[x.key]).attrU32Be(META.SREG, x.sreg ?? r1);
      return;
    case "cmp":
      e.attrU32Be(CMP.SREG, x.sreg ?? r1).attrU32Be(CMP.OP, CMP_OP[x.op]);
      value(e, CMP.DATA, x.data);
      return;
    case "bitwise":
      e.attrU32Be(BITWISE.SREG, x.sreg ?? r1).attrU32Be(
        BITWISE.DREG,
        x.dreg ?? r1,
      );
      e.attrU32Be(BITWISE.LEN, x.len);
      value(e, BITWISE.MASK, x.mask);
      value(e, BITWISE.XOR, x.xor);
      return;
    case "payload":
      e.attrU32Be(PAYLOAD.DREG, x.dreg ?? r1);
      e.attrU32Be(PAYLOAD.BASE, PAYLOAD_BASE[x.base]);
      e.attrU32Be(PAYLOAD.OFFSET, x.offset).attrU32Be(PAYLOAD.LEN, x.len);
      return;
    case "lookup":
      e.attrString(LOOKUP.SET, x.set).attrU32Be(LOOKUP.SREG, x.sreg ?? r1);
      if (x.setId !== undefined) e.attrU32Be(LOOKUP.SET_ID, x.setId);
      return;
    case "immediate":
      e.attrU32Be(IMMEDIATE.DREG, x.dreg ?? r1);
      value(e, IMMEDIATE.DATA, x.data);
      return;
    case "verdict":
      e.attrU32Be(IMMEDIATE.DREG, NFT_REG_VERDICT);
      e.nested(
        IMMEDIATE.DATA,
        (d) =>
          d.nested(
            DATA_A.VERDICT,
            (v) => v.attrI32Be(VERDICT_A.CODE, VERDICT[x.verdict]),
          ),
      );
      return;
    case "counter":
      return;
    case "tcpOption":
      if (x.sreg !== undefined) e.attrU32Be(EXTHDR.SREG, x.sreg);
      else e.attrU32Be(EXTHDR.DREG, x.dreg ?? r1);
      e.attrU8(EXTHDR.TYPE, x.type);
      e.attrU32Be(EXTHDR.OFFSET, x.offset).attrU32Be(EXTHDR.LEN, x.len);
      e.attrU32Be(EXTHDR.OP, NFT_EXTHDR_OP_TCPOPT);
      return;
  }
}

/** Writes one expression as an `NFTA_LIST_ELEM`. */
export function encodeExpr(e: NetlinkEncoder, x: NftExpr): void {
  e.nested(LIST_ELEM, (el) => {
    el.attrString(EXPR_A.NAME, exprName(x));
    el.nested(EXPR_A.DATA, (d) => exprData(d, x));
  });
}
