/**
 * Bounds what YAML aliases may expand to, so that an alias bomb ("billion
 * laughs") is refused with the line of the alias that crosses the limit
 * instead of filling memory. Pure: looks at the parsed document only.
 *
 * @module
 */
import {
  type Document,
  isAlias,
  isCollection,
  isPair,
  type LineCounter,
  type Node,
  visit,
} from "yaml";
import type { ConfigProblem } from "./types.ts";

/** Nodes that all aliases of one config may add together. */
export const MAX_ALIAS_EXPANSION = 10_000;

/**
 * The first problem with the document's aliases: an alias without an
 * anchor before it, one inside the node it names, or aliases that together
 * expand to more than `limit` nodes. `undefined` when there is none.
 */
export function aliasProblem(
  doc: Document,
  lines: LineCounter,
  limit: number = MAX_ALIAS_EXPANSION,
): ConfigProblem | undefined {
  // Which node each alias names: the last node with that anchor before it,
  // in document order (YAML's rule), found in one pass.
  const latest = new Map<string, Node>();
  const aliases: { alias: Node & { source: string }; source?: Node }[] = [];
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const source = latest.get(node.source);
        aliases.push(source ? { alias: node, source } : { alias: node });
      } else if (node.anchor) latest.set(node.anchor, node);
    },
  });
  const where = (node: Node) =>
    `line ${lines.linePos(node.range?.[0] ?? 0).line}`;
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let cyclic = false;
  const resolved = new Map(aliases.map((a) => [a.alias, a.source]));
  // Nodes the node stands for once every alias in it is replaced.
  const size = (node: unknown): number => {
    if (node === null || node === undefined) return 0;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (open.has(node)) { // an alias inside the node it names
      cyclic = true;
      return 0;
    }
    open.add(node);
    let n = 1;
    if (isAlias(node)) n = size(resolved.get(node));
    else if (isPair(node)) n = size(node.key) + size(node.value);
    else if (isCollection(node)) {
      n = 1;
      for (const item of node.items) n += size(item);
    }
    open.delete(node);
    sizes.set(node, n);
    return n;
  };
  let total = 0;
  for (const { alias, source } of aliases) {
    if (!source) {
      return {
        path: where(alias),
        message:
          `YAML alias "*${alias.source}" has no anchor "&${alias.source}" before it; define the anchor first or write the value out`,
      };
    }
    total += size(source);
    if (cyclic) {
      return {
        path: where(alias),
        message:
          `YAML alias "*${alias.source}" is inside the node it names, so its value never ends; write the value out`,
      };
    }
    if (total > limit) {
      return {
        path: where(alias),
        message:
          `YAML aliases expand to more than ${limit} values from here on (an alias bomb?); write the values out instead`,
      };
    }
  }
  return undefined;
}
