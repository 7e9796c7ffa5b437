/**
 * BENCHMARKS.md from the benchmarks' results: every table with the command
 * that produced it and the machine, plus SVG plots (full mesh vs N against
 * the static script, the per-node waterfall, RSS vs peers). Pure: the
 * runner (`tests/bench/report.ts`) measures and writes the files.
 *
 * @module
 */
import {
  breakdown,
  breakdownTable,
  cpuFloor,
  type NodeSteps,
  STEPS,
} from "./timeline_summary.ts";
import { lineChart, waterfall } from "./svg.ts";

/** The machine the numbers come from. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  deno: string;
  /** Load average (1 min) when the run started: other work on the box. */
  load: number;
}

/** One mesh size (see tests/bench/mesh_bench.ts). */
export interface MeshSize {
  nodes: number;
  edgespanMs: number[];
  staticMs: number[];
  timeline: NodeSteps[];
  /** Reconcile passes each agent ran up to the full mesh (median run). */
  passes?: number[];
  /** CPU ms each agent used from its spawn to the full mesh (median run). */
  cpuMs?: number[];
  /** The machine's cores, for the CPU floor. */
  cores?: number;
  joinMs?: number[];
  join?: NodeSteps;
  /** Each run's never-seen box joining (ms after its spawn). */
  newJoin?: { ms: number; ownMs: number; peersMs: number; node: NodeSteps }[];
  /** Each run's renumbered box (ms after the move), or why it was not followed. */
  move?: ({ firstMs: number; endpointMs: number; ms: number } | string)[];
}

/** One footprint measurement (see tests/bench/footprint_bench.ts). */
export interface FootprintPoint {
  peers: number;
  rssMb: number;
  peakMb: number;
  /** Of the RSS: file-backed (the runtime binary's pages) and anonymous, MB. */
  fileMb?: number;
  anonMb?: number;
  apiReadyMs: number;
  /** CPU (user + system) from spawn to settled, ms. */
  cpuMs?: number;
}

/** A floor run: a script that only reads its own memory. */
export interface FootprintFloor {
  rssMb: number;
  fileMb?: number;
  anonMb?: number;
  startMs: number;
}

/** One kernel-path comparison, ours against the C tool, per round. */
export interface KernelRow {
  name: string;
  reference: string;
  oursMs: number[];
  theirsMs: number[];
}

/** One run of tests/bench/discovery_bench.ts. */
export interface DiscoveryRun {
  /** HTTP/2 connections the 1000 watchers share. */
  connections: number;
  seedPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Updates per second the server takes with every watcher attached. */
  loadedPerS: number;
  peakMb: number;
}

/**
 * Reads one discovery benchmark run from its printed lines.
 *
 * @throws {Error} naming the figure missing from `text`
 */
export function parseDiscoveryRun(
  text: string,
  connections: number,
): DiscoveryRun {
  const n = (re: RegExp, what: string) => {
    const m = re.exec(text);
    if (!m) throw new Error(`Cannot find ${what} in the discovery output`);
    return Number(m[1]);
  };
  return {
    connections,
    seedPerS: n(/^seed:.*= (\d+) updates\/s/m, "the seed rate"),
    p50Ms: n(/^fan-out:.*p50 ([\d.]+) ms/m, "fan-out p50"),
    p99Ms: n(/^fan-out:.*p99 ([\d.]+) ms/m, "fan-out p99"),
    maxMs: n(/^fan-out:.*max ([\d.]+) ms/m, "fan-out max"),
    loadedPerS: n(/^updates with \d+ watchers: (\d+) updates\/s/m, "updates"),
    peakMb: n(/peak \(VmHWM\) (\d+) MB/, "peak RSS"),
  };
}

/** Everything one report shows. */
export interface BenchData {
  generatedAt: string;
  machine: Machine;
  mesh?: { command: string; sizes: MeshSize[] };
  footprint?: {
    command: string;
    runs: FootprintPoint[];
    floor: FootprintFloor[];
    /** Deno with edgespan's code loaded, no agent started. */
    loaded?: FootprintFloor[];
  };
  kernel?: { command: string; rows: KernelRow[] };
  discovery?: { command: string; runs: DiscoveryRun[] };
}

/** What {@linkcode renderReport} returns: the Markdown and the SVG files by name. */
export interface Report {
  markdown: string;
  files: Record<string, string>;
}

/** The median (lower middle for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}

const s2 = (ms: number) => (ms / 1000).toFixed(2);
const f1 = (x: number) => x.toFixed(1);
const range = (xs: readonly number[], f: (x: number) => string) =>
  xs.length > 1 ? `${f(Math.min(...xs))}–${f(Math.max(...xs))}` : f(xs[0]!);

function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

function meshSection(
  mesh: NonNullable<BenchData["mesh"]>,
  files: Record<string, string>,
  dir: string,
): string[] {
  const out = [
    "## Full mesh from start",
    "",
    "Every agent starts at once in its own network namespace (node 1 also hosts the embedded",
    'discovery service), from the warm single file; the clock stops at the latest "every peer',
    "up\" of the agents' own timelines. The reference configures the same mesh with `wg set` and",
    "`ip` (keys made up front, one wireguard-go per node) and stops when every node has a",
    "handshake with every peer. The two run interleaved in each repeat.",
    "",
    "```",
    mesh.command,
    "```",
    "",
    "| nodes | edgespan (median, range) | static wg+ip (median, range) | ratio (median, range) |",
    "|---|---|---|---|",
  ];
  for (const m of mesh.sizes) {
    out.push(
      `| ${m.nodes} | ${s2(median(m.edgespanMs))} s (${
        range(m.edgespanMs, s2)
      }) | ${s2(median(m.staticMs))} s (${range(m.staticMs, s2)}) | ${
        f1(median(m.edgespanMs) / median(m.staticMs))
      } (${range(ratios(m.edgespanMs, m.staticMs), f1)}) |`,
    );
  }
  files["mesh_vs_nodes.svg"] = lineChart({
    title: "Start to full mesh",
    xLabel: "nodes",
    yLabel: "seconds (median)",
    series: [
      {
        name: "edgespan",
        points: mesh.sizes.map((m) => [m.nodes, median(m.edgespanMs) / 1000]),
      },
      {
        name: "static wg + ip",
        points: mesh.sizes.map((m) => [m.nodes, median(m.staticMs) / 1000]),
      },
    ],
  });
  out.push("", `![start to full mesh vs nodes](${dir}/mesh_vs_nodes.svg)`, "");
  for (const m of mesh.sizes) {
    out.push(
      `### Where the seconds go, ${m.nodes} nodes (median run)`,
      "",
      "Steps from each agent's `GET /v1/timeline`, on one axis: seconds after the first agent",
      "was spawned.",
      "",
      breakdownTable(breakdown(m.timeline)),
      "",
    );
    if (m.passes?.length) {
      out.push(
        `Reconcile passes per agent up to the full mesh: median ${
          median(m.passes)
        }, most ${Math.max(...m.passes)}.`,
        "",
      );
    }
    if (m.cpuMs?.length && m.cores) {
      const f = cpuFloor(m.cpuMs, m.cores);
      out.push(
        `CPU per agent from its spawn to its last peer up: median ${
          f.median.toFixed(0)
        } ms (${f.min.toFixed(0)}–${
          f.max.toFixed(0)
        }). The ${m.cpuMs.length} agents together used ${
          (f.total / 1000).toFixed(2)
        } CPU-s: on ${m.cores} cores that alone takes at least ${
          (f.wallFloor / 1000).toFixed(2)
        } s of wall time (the floor for edgespan on this machine, before any waiting).`,
        "",
      );
    }
    const name = `waterfall_${m.nodes}.svg`;
    files[name] = waterfall({
      title: `Per-node timeline, ${m.nodes} nodes`,
      rows: [...m.timeline].sort((a, b) =>
        Number(a.name.replace(/\D/g, "")) - Number(b.name.replace(/\D/g, ""))
      ),
      phases: STEPS.filter((p) => p.key !== "spawned"),
    });
    out.push(`![timeline of ${m.nodes} nodes](${dir}/${name})`, "");
    out.push(...newJoinLines(m));
    if (m.joinMs && m.join) {
      const mesh = m.newJoin?.length ? m.nodes + 1 : m.nodes;
      out.push(
        `A box rejoining the converged ${mesh}-node mesh (stopped with \`--cleanup\`, so its link and`,
        `peers are gone, then started again): ${
          range(m.joinMs, s2)
        } s from its spawn to every pair with it up (median ${
          s2(median(m.joinMs))
        } s).`,
        "",
        breakdownTable(breakdown([m.join])),
        "",
      );
    }
  }
  return out;
}

/** The never-seen box's join and the renumbered box, when measured. */
function newJoinLines(m: MeshSize): string[] {
  const out: string[] = [];
  const fresh = m.newJoin ?? [];
  if (fresh.length) {
    const ms = fresh.map((f) => f.ms);
    const mid = fresh.find((f) => f.ms === median(ms))!;
    out.push(
      `A box never seen by the mesh (node ${
        m.nodes + 1
      }, a fresh identity) joining the converged`,
      `${m.nodes}-node mesh: ${
        range(ms, s2)
      } s from its spawn until every pair with it is up in both`,
      `directions (median ${s2(median(ms))} s; it sees every peer up after ${
        s2(median(fresh.map((f) => f.ownMs)))
      } s, the last peer sees it up after ${
        s2(median(fresh.map((f) => f.peersMs)))
      } s, medians).`,
      "",
      breakdownTable(breakdown([mid.node])),
      "",
    );
  }
  const moves = m.move ?? [];
  const done = moves.flatMap((x) => typeof x === "string" ? [] : [x]);
  if (moves.length) {
    out.push(
      `Box ${m.nodes}'s underlay address renumbered in its namespace (a new address added and the old`,
      `one deleted on its WAN veth in one \`ip -batch\`, as when its WAN address moves), timed from`,
      `the move, each peer's WireGuard read over its UAPI socket:`,
    );
    if (done.length) {
      out.push(
        `the first peer shows the new endpoint after ${
          range(done.map((d) => d.firstMs), s2)
        } s, every peer after ${
          range(done.map((d) => d.endpointMs), s2)
        } s, every peer also with a handshake after the move after ${
          range(done.map((d) => d.ms), s2)
        } s (${done.length} of ${moves.length} runs).`,
      );
    }
    for (const x of moves) {
      if (typeof x === "string") out.push(`One run: ${x}.`);
    }
    out.push("");
  }
  return out;
}

function footprintSection(
  fp: NonNullable<BenchData["footprint"]>,
  files: Record<string, string>,
  dir: string,
): string[] {
  const sizes = [...new Set(fp.runs.map((r) => r.peers))].sort((a, b) => a - b);
  const out = [
    "## Footprint",
    "",
    "One agent alone in a fresh network namespace with wireguard-go and N peers from the",
    "`discovery-static` plugin (endpoints that never answer); RSS read from /proc 3 s after",
    "every peer is configured, split into file-backed pages (the runtime binary's code and data",
    "the process touched, shared with any other Deno process on the box) and anonymous memory",
    "(heaps, stacks, compiled code); API ready = from spawn to the API listening. The floors: an",
    "empty script, and a script that only loads and evaluates edgespan's code (no agent), both",
    "run the same way.",
    "",
    "```",
    fp.command,
    "```",
    "",
    "| peers | RSS MB (median, range) | of it file-backed MB | of it anonymous MB | peak RSS MB | spawn to API ready, ms (median, range) | CPU to start and settle, ms |",
    "|---|---|---|---|---|---|---|",
  ];
  const part = (xs: (number | undefined)[]) =>
    xs.every((x) => x !== undefined) ? f1(median(xs as number[])) : "—";
  for (const n of sizes) {
    const rs = fp.runs.filter((r) => r.peers === n);
    const rss = rs.map((r) => r.rssMb);
    const api = rs.map((r) => r.apiReadyMs);
    out.push(
      `| ${n} | ${f1(median(rss))} (${range(rss, f1)}) | ${
        part(rs.map((r) => r.fileMb))
      } | ${part(rs.map((r) => r.anonMb))} | ${
        f1(median(rs.map((r) => r.peakMb)))
      } | ${f1(median(api))} (${range(api, f1)}) | ${
        f1(median(rs.map((r) => r.cpuMs ?? NaN)))
      } |`,
    );
  }
  const floorRss = median(fp.floor.map((f) => f.rssMb));
  for (
    const [name, runs] of [
      ["Deno floor (empty script)", fp.floor],
      ["Deno with edgespan's code loaded, no agent", fp.loaded ?? []],
    ] as const
  ) {
    if (runs.length === 0) continue;
    out.push(
      `| ${name} | ${f1(median(runs.map((f) => f.rssMb)))} | ${
        part(runs.map((f) => f.fileMb))
      } | ${part(runs.map((f) => f.anonMb))} | — | ${
        f1(median(runs.map((f) => f.startMs)))
      } (spawn to exit) | — |`,
    );
  }
  out.push("");
  files["rss_vs_peers.svg"] = lineChart({
    title: "Agent RSS vs peers",
    xLabel: "peers",
    yLabel: "MB (median)",
    series: [
      {
        name: "edgespan agent",
        points: sizes.map((n) => [
          n,
          median(fp.runs.filter((r) => r.peers === n).map((r) => r.rssMb)),
        ]),
      },
      {
        name: "Deno floor",
        points: sizes.map((n) => [n, floorRss]),
      },
    ],
  });
  out.push(`![RSS vs peers](${dir}/rss_vs_peers.svg)`, "");
  return out;
}

function kernelSection(k: NonNullable<BenchData["kernel"]>): string[] {
  const out = [
    "## Kernel paths",
    "",
    "Ours (rtnetlink, nftables netlink, the wireguard-go UAPI) against the C tool doing the",
    "same work in the same netns and the same run (the C tool's time includes its process",
    "start, as a script would pay it); each round is one run of the benchmark script.",
    "",
    "```",
    k.command,
    "```",
    "",
    "| path | edgespan ms (median) | reference | reference ms (median) | ratio (median, range) |",
    "|---|---|---|---|---|",
  ];
  for (const r of k.rows) {
    const ours = median(r.oursMs);
    if (r.theirsMs.length === 0) {
      out.push(
        `| ${r.name} | ${f1(ours)} (${range(r.oursMs, f1)}) | — | — | — |`,
      );
      continue;
    }
    out.push(
      `| ${r.name} | ${f1(ours)} | ${r.reference} | ${
        f1(median(r.theirsMs))
      } | ${(ours / median(r.theirsMs)).toFixed(2)} (${
        range(ratios(r.oursMs, r.theirsMs), (x) => x.toFixed(2))
      }) |`,
    );
  }
  out.push("");
  return out;
}

function discoverySection(
  d: NonNullable<BenchData["discovery"]>,
): string[] {
  const out = [
    "## Discovery service",
    "",
    "Our service (`edgespan discovery serve`, in-memory store) with one cluster of 1024",
    "affiliates × 64 endpoints: the seed rate with no watchers, then 1000 watchers (raw",
    "HTTP/2 streams) sharing 10 connections or one connection each: fan-out latency of",
    "200 probe updates, the update rate the server takes with every watcher attached,",
    "and the server's peak RSS.",
    "",
    "```",
    d.command,
    "```",
    "",
    "| watchers' connections | seed, updates/s (median, range) | fan-out p50 ms | fan-out p99 ms (median, range) | updates/s with 1000 watchers | peak RSS MB |",
    "|---|---|---|---|---|---|",
  ];
  const byConns = new Map<number, DiscoveryRun[]>();
  for (const r of d.runs) {
    byConns.set(r.connections, [...byConns.get(r.connections) ?? [], r]);
  }
  const i0 = (x: number) => x.toFixed(0);
  for (const [conns, runs] of byConns) {
    const col = (k: keyof DiscoveryRun) => runs.map((r) => r[k]);
    out.push(
      `| ${conns} | ${i0(median(col("seedPerS")))} (${
        range(col("seedPerS"), i0)
      }) | ${f1(median(col("p50Ms")))} | ${f1(median(col("p99Ms")))} (${
        range(col("p99Ms"), f1)
      }) | ${i0(median(col("loadedPerS")))} | ${i0(median(col("peakMb")))} |`,
    );
  }
  out.push("");
  return out;
}

/** Renders the report; `dir` is where the SVG files go, relative to the Markdown file. */
export function renderReport(data: BenchData, dir = "benchmarks"): Report {
  const files: Record<string, string> = {};
  const m = data.machine;
  const out = [
    "# Benchmarks",
    "",
    "<!-- Generated by `deno task bench-report` (tests/bench/report.ts); do not edit by hand. -->",
    "",
    `Generated ${data.generatedAt} on ${m.cpu}, ${m.cores} cores, ${
      m.memoryGb.toFixed(1)
    } GB, Linux ${m.kernel}, Deno ${m.deno}; load average ${
      m.load.toFixed(2)
    } when the run started (the machine is shared, so absolute times are`,
    "context only; each ratio is measured against its reference in the same run).",
    "",
  ];
  if (data.mesh) out.push(...meshSection(data.mesh, files, dir));
  if (data.kernel) out.push(...kernelSection(data.kernel));
  if (data.footprint) out.push(...footprintSection(data.footprint, files, dir));
  if (data.discovery) out.push(...discoverySection(data.discovery));
  return { markdown: out.join("\n").trimEnd() + "\n", files };
}
