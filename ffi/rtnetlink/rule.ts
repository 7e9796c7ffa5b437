/**
 * Policy-rule messages (`ip rule`): RTM_NEWRULE/RTM_DELRULE for
 * "fwmark M/MASK lookup TABLE priority P", the RTM_GETRULE dump and a parser.
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
import { afOf, familyOf, FR_ACT_TO_TBL, FRA, RTM } from "./constants.ts";

/** A rule to install: `fwmark fwmark/fwmask lookup table priority`. */
export interface RuleSpec {
  family: 4 | 6;
  priority: number;
  table: number;
  /** Mark to match; absent = no mark match. */
  fwmark?: number;
  /** Mask for the mark. @default 0xffffffff when fwmark is set */
  fwmask?: number;
}

/** A rule as the kernel reports it. */
export interface Rule extends RuleSpec {
  /** FR_ACT_* (1 = lookup table). */
  action: number;
}

/** RTM_GETRULE dump of one family. */
export function encodeGetRules(family: 4 | 6): Uint8Array<ArrayBuffer> {
  return buildMessage(RTM.GETRULE, NLM_F_REQUEST | NLM_F_DUMP, (e) => {
    e.u8(afOf(family)).zeros(7).u32(0);
  });
}

/** RTM_NEWRULE (add, failing if an equal rule exists) or RTM_DELRULE. */
export function encodeRule(
  op: "add" | "delete",
  rule: RuleSpec,
): Uint8Array<ArrayBuffer> {
  const type = op === "add" ? RTM.NEWRULE : RTM.DELRULE;
  const flags = op === "add"
    ? NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
    : NLM_F_REQUEST;
  return buildMessage(type, flags, (e) => {
    // family, dst_len, src_len, tos, table, res1, res2, action, flags
    e.u8(afOf(rule.family)).u8(0).u8(0).u8(0);
    e.u8(rule.table < 256 ? rule.table : 0).u8(0).u8(0).u8(FR_ACT_TO_TBL);
    e.u32(0);
    e.attrU32(FRA.PRIORITY, rule.priority);
    e.attrU32(FRA.TABLE, rule.table);
    if (rule.fwmark !== undefined) {
      e.attrU32(FRA.FWMARK, rule.fwmark);
      e.attrU32(FRA.FWMASK, rule.fwmask ?? 0xffffffff);
    }
  });
}

/** Parses one RTM_NEWRULE reply; undefined for other families. */
export function parseRule(msg: NetlinkMessage): Rule | undefined {
  const p = msg.payload;
  if (p.length < 12) {
    throw new SyntaxError("Cannot parse rule: short fib_rule_hdr");
  }
  const family = familyOf(p[0] ?? 0);
  if (!family) return undefined;
  const rule: Rule = {
    family,
    priority: 0,
    table: p[4] ?? 0,
    action: p[7] ?? 0,
  };
  const d = new AttributeDecoder(p.subarray(12));
  while (d.next()) {
    switch (d.type) {
      case FRA.PRIORITY:
        rule.priority = d.u32();
        break;
      case FRA.TABLE:
        rule.table = d.u32();
        break;
      case FRA.FWMARK:
        rule.fwmark = d.u32();
        break;
      case FRA.FWMASK:
        rule.fwmask = d.u32();
        break;
    }
  }
  if (d.err) throw d.err;
  return rule;
}
