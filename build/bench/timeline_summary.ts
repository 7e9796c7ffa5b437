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
  /** Step name → CPU ms the agent had used by then (when its timeline records CPU). */
  cpu?: Record<string, number>;
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

type PeerStep = "known" | "configured" | "handshake" | "up";

/** The latest of every peer's `event` (time, and CPU by then), or undefined while one lacks it. */
function lastOf(
  t: TimelineSnapshot,
  event: PeerStep,
  expected: number,
): { at: number; cpu?: number } | undefined {
  const peers = Object.values(t.peers);
  if (peers.length < expected || peers.some((p) => p[event] === undefined)) {
    return undefined;
  }
  const at = Math.max(...peers.map((p) => p[event]!));
  // CPU time only grows: the latest step has the largest reading.
  const cpus = peers.map((p) => p.cpu?.[event]);
  return cpus.every((c) => c !== undefined)
    ? { at, cpu: Math.max(...cpus as number[]) }
    : { at };
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
  const cpu: Record<string, number> = { ...node.timeline.cpu };
  const per = {
    allKnown: lastOf(node.timeline, "known", peers),
    allConfigured: lastOf(node.timeline, "configured", peers),
    allHandshakes: lastOf(node.timeline, "handshake", peers),
    allUp: lastOf(node.timeline, "up", peers),
  };
  for (const [k, v] of Object.entries(per)) {
    if (v === undefined) continue;
    steps[k] = base + v.at;
    if (v.cpu !== undefined) cpu[k] = v.cpu;
  }
  return {
    name: node.name,
    steps,
    ...(Object.keys(cpu).length ? { cpu } : {}),
  };
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
  /** Median CPU ms the agents had used by the step, where recorded. */
  cpuMedian?: number;
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
    const cpus = nodes.map((n) => n.cpu?.[key]).filter((v) =>
      v !== undefined
    ) as number[];
    rows.push({
      key,
      text,
      median: median(values),
      max: Math.max(...values),
      nodes: values.length,
      ...(cpus.length ? { cpuMedian: median(cpus) } : {}),
    });
  }
  return rows;
}

/**
 * The breakdown as a Markdown table (times in seconds, 2 decimals; with a
 * CPU column when any row has CPU).
 */
export function breakdownTable(rows: readonly StepRow[]): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const withCpu = rows.some((r) => r.cpuMedian !== undefined);
  const cpu = (r: StepRow) =>
    withCpu
      ? ` ${r.cpuMedian === undefined ? "—" : `${r.cpuMedian.toFixed(0)} ms`} |`
      : "";
  return [
    `| step | median node | slowest node | nodes |${
      withCpu ? " CPU used by then (median node) |" : ""
    }`,
    `|---|---|---|---|${withCpu ? "---|" : ""}`,
    ...rows.map((r) =>
      `| ${r.text} | ${s(r.median)} s | ${s(r.max)} s | ${r.nodes} |${cpu(r)}`
    ),
  ].join("\n");
}

/** What the agents' CPU to a full mesh says about the wall time. */
export interface CpuFloor {
  /** CPU ms per agent: median, least, most. */
  median: number;
  min: number;
  max: number;
  /** Every agent's CPU together, ms. */
  total: number;
  /** The least wall time that CPU needs on `cores` cores, ms. */
  wallFloor: number;
}

/** The CPU floor of a mesh run from each agent's CPU ms. */
export function cpuFloor(cpuMs: readonly number[], cores: number): CpuFloor {
  const total = cpuMs.reduce((a, b) => a + b, 0);
  return {
    median: median([...cpuMs]),
    min: Math.min(...cpuMs),
    max: Math.max(...cpuMs),
    total,
    wallFloor: total / cores,
  };
}
