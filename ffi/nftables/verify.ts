/**
 * Compares a table as read back from the kernel with the spec it was built
 * from, so that a table deleted or edited behind the agent's back is found
 * and put back. Pure: the caller reads the table ({@linkcode Nftables.readTable}).
 *
 * What is compared: every chain (type, hook, priority, policy), its rules
 * in order as expression kinds, and the contents of each looked-up set
 * (named or anonymous, merged into prefixes). Immediate values inside a
 * rule (a mark, a port) are not compared: editing one means replacing the
 * rule, which changes its handle but not its shape, and is rare enough that
 * the next spec change repairs it.
 *
 * @module
 */
import type { NftSetSpec, NftTableSpec } from "./batch.ts";
import { exprName } from "./expressions.ts";
import { prefixesToRanges } from "./intervals.ts";
import type { NftReadSet, NftReadTable } from "./read.ts";
import { formatIP, formatPrefix, parsePrefix } from "../../core/netaddr/ip.ts";
import { rangeToPrefixes } from "../../core/netaddr/range.ts";

function specElements(set: NftSetSpec): string[] {
  const family = set.type === "ipv4_addr" ? 4 : 6;
  if (set.interval ?? true) {
    return prefixesToRanges(set.elements, family)
      .flatMap((r) => rangeToPrefixes(r, family).map(formatPrefix)).sort();
  }
  return [...new Set(set.elements.map((e) => formatIP(parsePrefix(e).ip)))]
    .sort();
}

function setText(type: string, elements: readonly string[]): string {
  return `{${type}: ${[...elements].sort().join(", ")}}`;
}

/**
 * Lists how the kernel's table differs from `spec`, one sentence per
 * difference; empty when they match. A `read` of `undefined` means the
 * table does not exist.
 *
 * @example
 * ```ts
 * import { tableDrift } from "./verify.ts";
 * const spec = { family: "inet" as const, name: "t", chains: [] };
 * console.log(tableDrift(spec, undefined)); // ['table inet t is missing']
 * ```
 */
export function tableDrift(
  spec: NftTableSpec,
  read: NftReadTable | undefined,
): string[] {
  const t = `table ${spec.family} ${spec.name}`;
  if (read === undefined) return [`${t} is missing`];
  const out: string[] = [];
  const specSets = new Map((spec.sets ?? []).map((s) => [s.name, s]));
  const readSets = new Map<string, NftReadSet>(
    read.sets.map((s) => [s.name, s]),
  );
  const wanted = spec.chains ?? [];
  for (const chain of wanted) {
    const got = read.chains.find((c) => c.name === chain.name);
    const c = `chain "${chain.name}"`;
    if (!got) {
      out.push(`${c} is missing`);
      continue;
    }
    if (chain.hook !== undefined) {
      const want = `${chain.type ?? "filter"} hook ${chain.hook} priority ${
        chain.priority ?? 0
      } policy ${chain.policy ?? "accept"}`;
      const have = `${got.type ?? "?"} hook ${got.hook ?? "?"} priority ${
        got.priority ?? "?"
      } policy ${got.policy ?? "?"}`;
      if (want !== have) out.push(`${c} is "${have}", want "${want}"`);
    }
    const wantRules = chain.rules.map((r) =>
      r.exprs.map((x) => {
        if (x.kind !== "lookup") return exprName(x);
        const s = specSets.get(x.set);
        return s ? `lookup ${setText(s.type, specElements(s))}` : "lookup ?";
      }).join(" ")
    );
    const haveRules = got.rules.map((r) =>
      r.exprs.map((x) => {
        if (!x.startsWith("lookup ")) return x;
        const s = readSets.get(x.slice("lookup ".length));
        return s ? `lookup ${setText(s.type, s.elements)}` : "lookup ?";
      }).join(" ")
    );
    if (wantRules.length !== haveRules.length) {
      out.push(
        `${c} has ${haveRules.length} rules, want ${wantRules.length}`,
      );
      continue;
    }
    wantRules.forEach((w, i) => {
      if (w !== haveRules[i]) out.push(`${c} rule #${i + 1} differs`);
    });
  }
  for (const got of read.chains) {
    if (!wanted.some((c) => c.name === got.name)) {
      out.push(`chain "${got.name}" is not ours`);
    }
  }
  return out;
}
