/**
 * Where the seconds to a full mesh go: the agents' own timelines
 * (`GET /v1/timeline`) put on one axis, the moment the benchmark started
 * the first agent, and reduced to one row per step (median and slowest
 * node). Pure; the benchmark fetches the timelines.
 *
 * @module
 */
import type { TimelineSnapshot } from "../../core/timeline.ts";

/** One node's timeline with the wall-clock time its process was spawned. */
export interface NodeTimeline {
  name: string;
  /** Wall-clock ms at which the benchmark spawned the process. */
  spawnedAt: number;
  timeline: TimelineSnapshot;
}

/** A step's time on the common axis, ms after the benchmark's zero. */
export interface NodeSteps {
  name: string;
  /** Step name → ms after the zero; absent when it never happened. */
  steps: Record<string, number>;
}

/** The steps of the breakdown, in order, with what each means. */
export const STEPS: readonly { key: string; text: string }[] = [
  { key: "spawned", text: "process spawned" },
  { key: "runtime", text: "runtime started (JS runs)" },
  { key: "configReady", text: "config loaded" },
  { key: "identityReady", text: "identity ready" },
  { key: "pluginsStarted", text: "plugins started" },
  { key: "apiReady", text: "API listening" },
  { key: "firstPass", text: "first pass applied" },
  { key: "discoveryConnected", text: "discovery snapshot" },
  { key: "allKnown", text: "every peer known" },
  { key: "allConfigured", text: "every peer in WireGuard" },
  { key: "allHandshakes", text: "every peer's first handshake" },
  { key: "allUp", text: "every peer up" },
];

function lastOf(
  t: TimelineSnapshot,
  event: "known" | "configured" | "handshake" | "up",
  expected: number,
): number | undefined {
  const times = Object.values(t.peers).map((p) => p[event]);
  if (times.length < expected || times.some((x) => x === undefined)) {
    return undefined;
  }
  return Math.max(...times as number[]);
}

/**
 * Puts each node's steps on one axis: ms after `zero` (wall clock).
 * `peers` is how many peers each node must have for the "every peer"
 * steps.
 */
export function nodeSteps(
  node: NodeTimeline,
  zero: number,
  peers: number,
): NodeSteps {
  const base = node.timeline.timeOrigin - zero;
  const steps: Record<string, number> = {
    spawned: node.spawnedAt - zero,
    runtime: base,
  };
  for (const [event, ms] of Object.entries(node.timeline.events)) {
    steps[event] = base + ms;
  }
  const per = {
    allKnown: lastOf(node.timeline, "known", peers),
    allConfigured: lastOf(node.timeline, "configured", peers),
    allHandshakes: lastOf(node.timeline, "handshake", peers),
    allUp: lastOf(node.timeline, "up", peers),
  };
  for (const [k, v] of Object.entries(per)) {
    if (v !== undefined) steps[k] = base + v;
  }
  return { name: node.name, steps };
}

/** One row of the breakdown: a step's median and slowest time over the nodes. */
export interface StepRow {
  key: string;
  text: string;
  /** ms after the zero. */
  median: number;
  max: number;
  /** Nodes that reached the step. */
  nodes: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The breakdown over all nodes, one row per step that any node reached. */
export function breakdown(nodes: readonly NodeSteps[]): StepRow[] {
  const rows: StepRow[] = [];
  for (const { key, text } of STEPS) {
    const values = nodes.map((n) => n.steps[key]).filter((v) =>
      v !== undefined
    ) as number[];
    if (values.length === 0) continue;
    rows.push({
      key,
      text,
      median: median(values),
      max: Math.max(...values),
      nodes: values.length,
    });
  }
  return rows;
}

/** The breakdown as a Markdown table (times in seconds, 2 decimals). */
export function breakdownTable(rows: readonly StepRow[]): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  return [
    "| step | median node | slowest node | nodes |",
    "|---|---|---|---|",
    ...rows.map((r) =>
      `| ${r.text} | ${s(r.median)} s | ${s(r.max)} s | ${r.nodes} |`
    ),
  ].join("\n");
}
