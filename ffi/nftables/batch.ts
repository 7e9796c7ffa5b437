/**
 * Table specs as plain data, and their encoding as one nfnetlink
 * transaction that atomically replaces a table: create-if-missing, delete,
 * create, then sets, elements, chains and rules. Either all of it applies
 * or none of it.
 *
 * @module
 */
import type { NetlinkEncoder } from "../netlink/encoder.ts";
import {
  buildMessage,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_REQUEST,
} from "../netlink/message.ts";
import {
  CHAIN_A,
  HOOK,
  HOOK_A,
  LIST_ELEM,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO,
  NFT_MSG,
  NFT_SET_ANONYMOUS,
  NFT_SET_CONSTANT,
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
import { encodeExpr, type NftExpr } from "./expressions.ts";
import {
  type IntervalElement,
  prefixesToRanges,
  rangesToElements,
} from "./intervals.ts";
import { familyBits, parsePrefix } from "../../core/netaddr/ip.ts";

/** A set of addresses or prefixes. */
export interface NftSetSpec {
  /** Name; for anonymous sets only a handle for `lookup` expressions. */
  name: string;
  type: keyof typeof SET_KEY_TYPE;
  /** Prefixes (`10.0.0.0/8`) or addresses; overlaps are merged. */
  elements: string[];
  /** Interval set (prefixes allowed). @default true */
  interval?: boolean;
  /** Anonymous constant set bound to the rule using it. @default false */
  anonymous?: boolean;
}

/** A rule: its expressions in order. */
export interface NftRuleSpec {
  exprs: NftExpr[];
}

/** A chain; base chains have `type` and `hook`. */
export interface NftChainSpec {
  name: string;
  /** `filter`, `route` or `nat`; absent = regular chain. */
  type?: "filter" | "route" | "nat";
  hook?: keyof typeof HOOK;
  /** @default 0 */
  priority?: number;
  /** @default "accept" */
  policy?: "accept" | "drop";
  rules: NftRuleSpec[];
}

/** A whole table. */
export interface NftTableSpec {
  family: NftFamily;
  name: string;
  sets?: NftSetSpec[];
  chains?: NftChainSpec[];
}

/** Encoded transaction with a description per message (for errors). */
export interface NftTransaction {
  messages: Uint8Array<ArrayBuffer>[];
  descriptions: string[];
}

/** Elements per NEWSETELEM message (keeps the nested list under 64 KiB). */
const ELEMENTS_PER_MESSAGE = 512;

/** Builds one nf_tables message (nfgenmsg header, then `body`). */
export function nfMessage(
  type: number,
  flags: number,
  family: NftFamily | 0,
  body: (e: NetlinkEncoder) => void,
): Uint8Array<ArrayBuffer> {
  return buildMessage((NFNL_SUBSYS_NFTABLES << 8) | type, flags, (e) => {
    e.u8(family === 0 ? 0 : NFPROTO[family]).u8(0).u16Be(0);
    body(e);
  });
}

function batchMarker(type: number): Uint8Array<ArrayBuffer> {
  return buildMessage(type, NLM_F_REQUEST, (e) => {
    e.u8(0).u8(0).u16Be(NFNL_SUBSYS_NFTABLES);
  });
}

/** Collects messages with their descriptions. */
class Tx {
  readonly messages: Uint8Array<ArrayBuffer>[] = [
    batchMarker(NFNL_MSG_BATCH_BEGIN),
  ];
  readonly descriptions: string[] = ["begin batch"];
  add(what: string, msg: Uint8Array<ArrayBuffer>): void {
    this.messages.push(msg);
    this.descriptions.push(what);
  }
  finish(): NftTransaction {
    this.messages.push(batchMarker(NFNL_MSG_BATCH_END));
    this.descriptions.push("end batch");
    return { messages: this.messages, descriptions: this.descriptions };
  }
}

const REQ = NLM_F_REQUEST | NLM_F_ACK;

function tableMessage(type: number, family: NftFamily, name: string) {
  const flags = type === NFT_MSG.NEWTABLE ? REQ | NLM_F_CREATE : REQ;
  return nfMessage(
    type,
    flags,
    family,
    (e) => e.attrString(TABLE_A.NAME, name),
  );
}

function setElements(set: NftSetSpec): IntervalElement[] {
  const family = set.type === "ipv4_addr" ? 4 : 6;
  if (set.interval ?? true) {
    return rangesToElements(prefixesToRanges(set.elements, family), family);
  }
  const seen = new Set<string>();
  const out: IntervalElement[] = [];
  for (const s of set.elements) {
    const p = parsePrefix(s);
    if (p.ip.family !== family || p.bits !== familyBits(family)) {
      throw new TypeError(
        `Cannot put "${s}" into set "${set.name}": it holds single IPv${family} addresses`,
      );
    }
    const key = p.ip.bytes.join(".");
    if (!seen.has(key)) out.push({ key: p.ip.bytes, end: false });
    seen.add(key);
  }
  return out;
}

/** Adds a table's sets, chains and rules to a transaction. */
function addTableContents(tx: Tx, spec: NftTableSpec): void {
  const fam = spec.family;
  const sets = new Map<string, { wireName: string; id: number }>();
  (spec.sets ?? []).forEach((set, i) => {
    const id = i + 1;
    const wireName = set.anonymous ? "__set%d" : set.name;
    sets.set(set.name, { wireName, id });
    const interval = set.interval ?? true;
    const flags = (interval ? NFT_SET_INTERVAL : 0) |
      (set.anonymous ? NFT_SET_ANONYMOUS | NFT_SET_CONSTANT : 0);
    tx.add(
      `create set "${set.name}"`,
      nfMessage(NFT_MSG.NEWSET, REQ | NLM_F_CREATE, fam, (e) => {
        e.attrString(SET_A.TABLE, spec.name).attrString(SET_A.NAME, wireName);
        e.attrU32Be(SET_A.FLAGS, flags);
        e.attrU32Be(SET_A.KEY_TYPE, SET_KEY_TYPE[set.type]);
        e.attrU32Be(SET_A.KEY_LEN, set.type === "ipv4_addr" ? 4 : 16);
        e.attrU32Be(SET_A.ID, id);
      }),
    );
    const elements = setElements(set);
    for (let at = 0; at < elements.length; at += ELEMENTS_PER_MESSAGE) {
      const chunk = elements.slice(at, at + ELEMENTS_PER_MESSAGE);
      tx.add(
        `add ${chunk.length} elements to set "${set.name}"`,
        nfMessage(NFT_MSG.NEWSETELEM, REQ | NLM_F_CREATE, fam, (e) => {
          e.attrString(SET_ELEM_LIST_A.TABLE, spec.name);
          e.attrString(SET_ELEM_LIST_A.SET, wireName);
          e.attrU32Be(SET_ELEM_LIST_A.SET_ID, id);
          e.nested(SET_ELEM_LIST_A.ELEMENTS, (list) => {
            for (const el of chunk) {
              list.nested(LIST_ELEM, (x) => {
                x.nested(SET_ELEM_A.KEY, (k) => k.attrBytes(1, el.key));
                if (el.end) {
                  x.attrU32Be(SET_ELEM_A.FLAGS, NFT_SET_ELEM_INTERVAL_END);
                }
              });
            }
          });
        }),
      );
    }
  });
  for (const chain of spec.chains ?? []) {
    tx.add(
      `create chain "${chain.name}"`,
      nfMessage(NFT_MSG.NEWCHAIN, REQ | NLM_F_CREATE, fam, (e) => {
        e.attrString(CHAIN_A.TABLE, spec.name).attrString(
          CHAIN_A.NAME,
          chain.name,
        );
        if (chain.hook !== undefined) {
          e.nested(CHAIN_A.HOOK, (h) => {
            h.attrU32Be(HOOK_A.HOOKNUM, HOOK[chain.hook ?? "prerouting"]);
            h.attrI32Be(HOOK_A.PRIORITY, chain.priority ?? 0);
          });
          e.attrU32Be(CHAIN_A.POLICY, VERDICT[chain.policy ?? "accept"]);
          e.attrString(CHAIN_A.TYPE, chain.type ?? "filter");
        }
      }),
    );
    chain.rules.forEach((rule, i) => {
      tx.add(
        `add rule #${i + 1} to chain "${chain.name}"`,
        nfMessage(
          NFT_MSG.NEWRULE,
          REQ | NLM_F_CREATE | NLM_F_APPEND,
          fam,
          (e) => {
            e.attrString(RULE_A.TABLE, spec.name).attrString(
              RULE_A.CHAIN,
              chain.name,
            );
            e.nested(RULE_A.EXPRESSIONS, (list) => {
              for (const x of rule.exprs) {
                const ref = x.kind === "lookup" ? sets.get(x.set) : undefined;
                encodeExpr(
                  list,
                  ref && x.kind === "lookup"
                    ? { ...x, set: ref.wireName, setId: x.setId ?? ref.id }
                    : x,
                );
              }
            });
          },
        ),
      );
    });
  }
}

/**
 * The transaction that replaces table `spec.name` with `spec`: the table
 * is created if missing (so the delete cannot fail), deleted with all its
 * contents, and built again.
 */
export function encodeReplaceTable(spec: NftTableSpec): NftTransaction {
  const tx = new Tx();
  const t = `${spec.family} ${spec.name}`;
  tx.add(
    `ensure table ${t}`,
    tableMessage(NFT_MSG.NEWTABLE, spec.family, spec.name),
  );
  tx.add(
    `delete table ${t}`,
    tableMessage(NFT_MSG.DELTABLE, spec.family, spec.name),
  );
  tx.add(
    `create table ${t}`,
    tableMessage(NFT_MSG.NEWTABLE, spec.family, spec.name),
  );
  addTableContents(tx, spec);
  return tx.finish();
}

/** The transaction that deletes a table (optionally only if it exists). */
export function encodeDeleteTable(
  family: NftFamily,
  name: string,
  ifExists: boolean,
): NftTransaction {
  const tx = new Tx();
  if (ifExists) {
    tx.add(
      `ensure table ${family} ${name}`,
      tableMessage(NFT_MSG.NEWTABLE, family, name),
    );
  }
  tx.add(
    `delete table ${family} ${name}`,
    tableMessage(NFT_MSG.DELTABLE, family, name),
  );
  return tx.finish();
}
