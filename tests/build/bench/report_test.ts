import {
  median,
  parseDiscoveryRun,
  renderReport,
} from "../../../build/bench/report.ts";
import {
  assert,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "../../_tools/assert.ts";

const MACHINE = {
  cpu: "Test CPU",
  cores: 2,
  memoryGb: 4,
  kernel: "6.1",
  deno: "2.9.6",
  load: 0.5,
};

Deno.test("renderReport() writes each table with its command, the machine and the plots it links", () => {
  const r = renderReport({
    generatedAt: "2026-12-01 12:00 UTC",
    machine: MACHINE,
    mesh: {
      command: "deno run -A tests/bench/mesh_bench.ts 4 --repeat 2",
      sizes: [{
        nodes: 4,
        edgespanMs: [800, 1000],
        staticMs: [100, 80],
        timeline: [{ name: "edge-1", steps: { configReady: 90, allUp: 800 } }],
        passes: [3, 9, 5],
        joinMs: [300],
        join: { name: "edge-4", steps: { allUp: 300 } },
      }],
    },
    kernel: {
      command: "deno run -A tests/bench/routes_bench.ts",
      rows: [
        {
          name: "1000 routes, add",
          reference: "`ip -batch`",
          oursMs: [10, 12],
          theirsMs: [20, 20],
        },
        { name: "no-op", reference: "", oursMs: [4], theirsMs: [] },
      ],
    },
    footprint: {
      command: "deno run -A tests/bench/footprint_bench.ts 64",
      runs: [{
        peers: 64,
        rssMb: 80,
        peakMb: 82,
        fileMb: 42,
        anonMb: 38,
        apiReadyMs: 150,
        cpuMs: 200,
      }],
      floor: [{ rssMb: 28, startMs: 15 }],
      loaded: [{ rssMb: 50, fileMb: 30, anonMb: 20, startMs: 50 }],
    },
  });
  const md = r.markdown;
  assertStringIncludes(md, "Test CPU, 2 cores, 4.0 GB, Linux 6.1, Deno 2.9.6");
  assertStringIncludes(
    md,
    "deno run -A tests/bench/mesh_bench.ts 4 --repeat 2",
  );
  assertStringIncludes(
    md,
    "| 4 | 0.80 s (0.80–1.00) | 0.08 s (0.08–0.10) | 10.0 (8.0–12.5) |",
  );
  assertStringIncludes(
    md,
    "| 1000 routes, add | 10.0 | `ip -batch` | 20.0 | 0.50 (0.50–0.60) |",
  );
  assertStringIncludes(md, "| no-op | 4.0 (4.0) | — | — | — |");
  assertStringIncludes(
    md,
    "| 64 | 80.0 (80.0) | 42.0 | 38.0 | 82.0 | 150.0 (150.0) | 200.0 |",
  );
  assertStringIncludes(md, "| Deno floor (empty script) | 28.0 | — | — |");
  assertStringIncludes(
    md,
    "| Deno with edgespan's code loaded, no agent | 50.0 | 30.0 | 20.0 | — | 50.0 (spawn to exit) | — |",
  );
  assertStringIncludes(md, "0.30 s from its spawn");
  assertStringIncludes(
    md,
    "passes per agent up to the full mesh: median 5, most 9",
  );
  for (
    const name of ["mesh_vs_nodes.svg", "waterfall_4.svg", "rss_vs_peers.svg"]
  ) {
    assertStringIncludes(md, `](benchmarks/${name})`);
    assert(r.files[name]?.startsWith("<svg"), name);
  }
  assertEquals(median([3, 1, 2, 4]), 2);
});

Deno.test("renderReport() writes the never-seen box's join and the renumbered box's follow-up", () => {
  const md = renderReport({
    generatedAt: "2026-12-01 12:00 UTC",
    machine: MACHINE,
    mesh: {
      command: "deno run -A tests/bench/mesh_bench.ts 16 --join",
      sizes: [{
        nodes: 16,
        edgespanMs: [2000],
        staticMs: [400],
        timeline: [{ name: "edge-1", steps: { allUp: 2000 } }],
        joinMs: [250],
        join: { name: "edge-17", steps: { allUp: 250 } },
        newJoin: [
          {
            ms: 900,
            ownMs: 700,
            peersMs: 900,
            node: { name: "edge-17", steps: { allUp: 700 } },
          },
          {
            ms: 1100,
            ownMs: 800,
            peersMs: 1100,
            node: { name: "edge-17", steps: { allUp: 800 } },
          },
        ],
        move: [
          { firstMs: 100, endpointMs: 300, ms: 1300 },
          "3 of 16 peers still without the new endpoint 10.99.0.116 after 60 s",
        ],
      }],
    },
  }).markdown.replace(/\s+/g, " ");
  assertStringIncludes(
    md,
    "node 17, a fresh identity) joining the converged 16-node mesh: 0.90–1.10 s from its spawn",
  );
  assertStringIncludes(
    md,
    "it sees every peer up after 0.70 s, the last peer sees it up after 0.90 s",
  );
  assertStringIncludes(md, "Box 16's underlay address renumbered");
  assertStringIncludes(
    md,
    "the first peer shows the new endpoint after 0.10 s, every peer after 0.30 s",
  );
  assertStringIncludes(
    md,
    "every peer also with a handshake after the move after 1.30 s (1 of 2 runs)",
  );
  assertStringIncludes(
    md,
    "One run: 3 of 16 peers still without the new endpoint 10.99.0.116 after 60 s.",
  );
  assertStringIncludes(md, "A box rejoining the converged 17-node mesh");
});

// Printed by `deno run -A tests/bench/discovery_bench.ts` (a real run).
const DISCOVERY_OUT =
  `store memory, 1 replica(s); server pid 18117 port 36321; idle RSS 52 MB
seed: 1024 affiliates × 64 endpoints in 0.21 s = 4763 updates/s (32 in flight, no watchers); RSS 73 MB
watch: 1000/1000 snapshots (1568 KiB each) over 10 connections in 0.59 s; RSS 99 MB
fan-out: 200 updates × 1000 watchers: p50 1.5 ms, p99 15.1 ms, max 17.8 ms (200000 deliveries)
updates with 1000 watchers: 494 updates/s (8 in flight, 5 s); watch streams ended (lost update or error): 0
edgespan_discovery_affiliates 1024
server RSS now 136 MB, peak (VmHWM) 136 MB
`;

Deno.test("parseDiscoveryRun() reads the discovery benchmark's figures; the report tables them per connection count", () => {
  const run = parseDiscoveryRun(DISCOVERY_OUT, 10);
  assertEquals(run, {
    connections: 10,
    seedPerS: 4763,
    p50Ms: 1.5,
    p99Ms: 15.1,
    maxMs: 17.8,
    loadedPerS: 494,
    peakMb: 136,
  });
  assertThrows(
    () => parseDiscoveryRun("seed: nothing", 10),
    Error,
    "the seed rate",
  );
  const r = renderReport({
    generatedAt: "2026-12-01 12:00 UTC",
    machine: MACHINE,
    discovery: {
      command: "deno run -A tests/bench/discovery_bench.ts --connections 10",
      runs: [run, { ...run, seedPerS: 5000, p99Ms: 20 }, {
        ...run,
        connections: 1000,
        p99Ms: 37.7,
      }],
    },
  });
  assertStringIncludes(r.markdown, "## Discovery service");
  assertStringIncludes(
    r.markdown,
    "deno run -A tests/bench/discovery_bench.ts --connections 10",
  );
  assertStringIncludes(
    r.markdown,
    "| 10 | 4763 (4763–5000) | 1.5 | 15.1 (15.1–20.0) | 494 | 136 |",
  );
  assertStringIncludes(
    r.markdown,
    "| 1000 | 4763 (4763) | 1.5 | 37.7 (37.7) |",
  );
});
