/**
 * Reading a table back: dump requests for chains, sets, set elements and
 * rules of one table, and parsers into plain data for verification.
 *
 * @module
 */
import { AttributeDecoder } from "../netlink/decoder.ts";
import {
  type NetlinkMessage,
  NLM_F_DUMP,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import { formatIP, formatPrefix, ipFromBytes } from "../../core/netaddr/ip.ts";
import { rangeToPrefixes } from "../../core/netaddr/range.ts";
import { nfMessage } from "./batch.ts";
import {
  CHAIN_A,
  DATA_A,
  EXPR_A,
  HOOK,
  HOOK_A,
  NFT_MSG,
  NFT_SET_ANONYMOUS,
  NFT_SET_ELEM_INTERVAL_END,
  NFT_SET_INTERVAL,
  type NftFamily,
  RULE_A,
  SET_A,
  SET_ELEM_A,
  SET_ELEM_LIST_A,
  SET_KEY_TYPE,
  TABLE_A,
  VERDICT,
} from "./constants.ts";
import { elementsToRanges, type IntervalElement } from "./intervals.ts";

/** A set as read back. */
export interface NftReadSet {
  name: string;
  /** `ipv4_addr`, `ipv6_addr` or `type N`. */
  type: string;
  interval: boolean;
  anonymous: boolean;
  /** Prefixes (interval sets, merged) or addresses. */
  elements: string[];
}

/** A rule as read back: expression names (with a detail where useful). */
export interface NftReadRule {
  handle: number;
  /** e.g. `meta`, `cmp`, `lookup __set0`, `counter`. */
  exprs: string[];
  /** Sum of the rule's counters. */
  packets: number;
  bytes: number;
}

/** A chain as read back. */
export interface NftReadChain {
  name: string;
  type?: string;
  hook?: keyof typeof HOOK;
  priority?: number;
  policy?: "accept" | "drop";
  rules: NftReadRule[];
}

/** A table as read back. */
export interface NftReadTable {
  family: NftFamily;
  name: string;
  sets: NftReadSet[];
  chains: NftReadChain[];
}

const DUMP = NLM_F_REQUEST | NLM_F_DUMP;

/** NFT_MSG_GETTABLE for one table (not a dump). */
export function encodeGetTable(family: NftFamily, name: string) {
  return nfMessage(
    NFT_MSG.GETTABLE,
    NLM_F_REQUEST,
    family,
    (e) => e.attrString(TABLE_A.NAME, name),
  );
}

/** Dump of the chains of one table. */
export function encodeGetChains(family: NftFamily, table: string) {
  return nfMessage(
    NFT_MSG.GETCHAIN,
    DUMP,
    family,
    (e) => e.attrString(CHAIN_A.TABLE, table),
  );
}

/** Dump of the sets of one table. */
export function encodeGetSets(family: NftFamily, table: string) {
  return nfMessage(
    NFT_MSG.GETSET,
    DUMP,
    family,
    (e) => e.attrString(SET_A.TABLE, table),
  );
}

/** Dump of the elements of one set. */
export function encodeGetSetElements(
  family: NftFamily,
  table: string,
  set: string,
) {
  return nfMessage(NFT_MSG.GETSETELEM, DUMP, family, (e) => {
    e.attrString(SET_ELEM_LIST_A.TABLE, table).attrString(
      SET_ELEM_LIST_A.SET,
      set,
    );
  });
}

/** Dump of the rules of one table. */
export function encodeGetRules(family: NftFamily, table: string) {
  return nfMessage(
    NFT_MSG.GETRULE,
    DUMP,
    family,
    (e) => e.attrString(RULE_A.TABLE, table),
  );
}

function attrs(msg: NetlinkMessage): AttributeDecoder {
  return new AttributeDecoder(msg.payload.subarray(4));
}

function done<T>(d: AttributeDecoder, value: T): T {
  if (d.err) throw d.err;
  return value;
}

/**
 * The table a chain, set or rule dump message belongs to (attribute 1 in
 * all three). Chain dumps list every table of the family, whatever table
 * the request named, so readers filter with this.
 */
export function tableOf(msg: NetlinkMessage): string {
  const d = attrs(msg);
  while (d.next()) {
    if (d.type === CHAIN_A.TABLE) return done(d, d.string());
  }
  return done(d, "");
}

/** Parses a NEWCHAIN dump message. */
export function parseChain(msg: NetlinkMessage): NftReadChain {
  const chain: NftReadChain = { name: "", rules: [] };
  const d = attrs(msg);
  while (d.next()) {
    if (d.type === CHAIN_A.NAME) chain.name = d.string();
    else if (d.type === CHAIN_A.TYPE) chain.type = d.string();
    else if (d.type === CHAIN_A.POLICY) {
      chain.policy = d.u32Be() === VERDICT.accept ? "accept" : "drop";
    } else if (d.type === CHAIN_A.HOOK) {
      d.nested((h) => {
        while (h.next()) {
          if (h.type === HOOK_A.HOOKNUM) {
            const n = h.u32Be();
            const name = (Object.keys(HOOK) as (keyof typeof HOOK)[]).find((
              k,
            ) => HOOK[k] === n);
            if (name) chain.hook = name;
          } else if (h.type === HOOK_A.PRIORITY) chain.priority = h.i32Be();
        }
      });
    }
  }
  return done(d, chain);
}

/** Parses a NEWSET dump message (elements are filled in separately). */
export function parseSet(msg: NetlinkMessage): NftReadSet & { keyLen: number } {
  const set = {
    name: "",
    type: "",
    interval: false,
    anonymous: false,
    elements: [] as string[],
    keyLen: 0,
  };
  const d = attrs(msg);
  while (d.next()) {
    if (d.type === SET_A.NAME) set.name = d.string();
    else if (d.type === SET_A.FLAGS) {
      const f = d.u32Be();
      set.interval = (f & NFT_SET_INTERVAL) !== 0;
      set.anonymous = (f & NFT_SET_ANONYMOUS) !== 0;
    } else if (d.type === SET_A.KEY_TYPE) {
      const t = d.u32Be();
      set.type = t === SET_KEY_TYPE.ipv4_addr
        ? "ipv4_addr"
        : t === SET_KEY_TYPE.ipv6_addr
        ? "ipv6_addr"
        : `type ${t}`;
    } else if (d.type === SET_A.KEY_LEN) set.keyLen = d.u32Be();
  }
  return done(d, set);
}

/** Parses NEWSETELEM dump messages into raw elements. */
export function parseSetElements(msgs: NetlinkMessage[]): IntervalElement[] {
  const out: IntervalElement[] = [];
  for (const m of msgs) {
    const d = attrs(m);
    while (d.next()) {
      if (d.type !== SET_ELEM_LIST_A.ELEMENTS) continue;
      d.nested((list) => {
        while (list.next()) {
          list.nested((el) => {
            let key: Uint8Array<ArrayBuffer> | undefined;
            let flags = 0;
            while (el.next()) {
              if (el.type === SET_ELEM_A.KEY) {
                el.nested((k) => {
                  while (k.next()) {
                    if (k.type === DATA_A.VALUE) {
                      key = k.copy() as Uint8Array<ArrayBuffer>;
                    }
                  }
                });
              } else if (el.type === SET_ELEM_A.FLAGS) flags = el.u32Be();
            }
            if (key) {
              out.push({ key, end: (flags & NFT_SET_ELEM_INTERVAL_END) !== 0 });
            }
          });
        }
      });
    }
    if (d.err) throw d.err;
  }
  return out;
}

/** Turns raw elements into prefix/address text for a set. */
export function elementsText(
  set: { type: string; interval: boolean },
  elements: IntervalElement[],
): string[] {
  const family = set.type === "ipv6_addr" ? 6 : 4;
  if (!set.interval) {
    return elements.map((e) => formatIP(ipFromBytes(e.key))).sort();
  }
  return elementsToRanges(elements, family).flatMap((r) =>
    rangeToPrefixes(r, family).map(formatPrefix)
  );
}

/** Parses a NEWRULE dump message; returns the chain name with it. */
export function parseRule(
  msg: NetlinkMessage,
): { chain: string; rule: NftReadRule } {
  let chain = "";
  const rule: NftReadRule = { handle: 0, exprs: [], packets: 0, bytes: 0 };
  const d = attrs(msg);
  while (d.next()) {
    if (d.type === RULE_A.CHAIN) chain = d.string();
    else if (d.type === RULE_A.HANDLE) rule.handle = Number(d.u64Be());
    else if (d.type === RULE_A.EXPRESSIONS) {
      d.nested((list) => {
        while (list.next()) {
          list.nested((x) => {
            let name = "";
            let detail = "";
            while (x.next()) {
              if (x.type === EXPR_A.NAME) name = x.string();
              else if (x.type === EXPR_A.DATA) {
                x.nested((data) => {
                  while (data.next()) {
                    // counter: 1 = bytes, 2 = packets; lookup: 1 = set name
                    if (name === "counter" && data.type === 1) {
                      rule.bytes += Number(data.u64Be());
                    } else if (name === "counter" && data.type === 2) {
                      rule.packets += Number(data.u64Be());
                    } else if (name === "lookup" && data.type === 1) {
                      detail = data.string();
                    }
                  }
                });
              }
            }
            rule.exprs.push(detail ? `${name} ${detail}` : name);
          });
        }
      });
    }
  }
  return done(d, { chain, rule });
}
