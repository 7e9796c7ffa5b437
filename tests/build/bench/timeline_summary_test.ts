import {
  breakdown,
  breakdownTable,
  cpuFloor,
  nodeSteps,
  type NodeTimeline,
} from "../../../build/bench/timeline_summary.ts";
import { assertEquals } from "../../_tools/assert.ts";

const ZERO = 1_000_000;

Deno.test("nodeSteps() puts a node's timeline on the common axis; 'every peer' steps need every peer", () => {
  const steps = nodeSteps(
    {
      name: "edge-2",
      spawnedAt: ZERO + 10,
      timeline: {
        timeOrigin: ZERO + 30,
        events: { configReady: 100, apiReady: 150 },
        peers: {
          A: {
            label: "a",
            known: 200,
            configured: 250,
            handshake: 240,
            up: 300,
          },
          B: { label: "b", known: 210, configured: 260 },
        },
      },
    },
    ZERO,
    2,
  );
  assertEquals(steps, {
    name: "edge-2",
    steps: {
      spawned: 10,
      runtime: 30,
      configReady: 130,
      apiReady: 180,
      allKnown: 240,
      allConfigured: 290,
    },
  });
  // with one peer expected, A alone counts
  assertEquals(
    nodeSteps(
      {
        name: "x",
        spawnedAt: ZERO,
        timeline: {
          timeOrigin: ZERO,
          events: {},
          peers: { A: { label: "a", handshake: 5, up: 7 } },
        },
      },
      ZERO,
      1,
    ).steps,
    { spawned: 0, runtime: 0, allHandshakes: 5, allUp: 7 },
  );
});

Deno.test("breakdown() gives each step's median and slowest node, in step order", () => {
  const rows = breakdown([
    { name: "a", steps: { allUp: 900, configReady: 100 } },
    { name: "b", steps: { allUp: 1500, configReady: 300 } },
    { name: "c", steps: { configReady: 200 } },
  ]);
  assertEquals(rows, [
    {
      key: "configReady",
      text: "config loaded",
      median: 200,
      max: 300,
      nodes: 3,
    },
    { key: "allUp", text: "every peer up", median: 1200, max: 1500, nodes: 2 },
  ]);
  assertEquals(
    breakdownTable(rows),
    [
      "| step | median node | slowest node | nodes |",
      "|---|---|---|---|",
      "| config loaded | 0.20 s | 0.30 s | 3 |",
      "| every peer up | 1.20 s | 1.50 s | 2 |",
    ].join("\n"),
  );
});

Deno.test("the CPU the agents had used by each step: from node steps and the latest peer step, median in the table", () => {
  const timeline = (cpuUp: number): NodeTimeline => ({
    name: "n",
    spawnedAt: 1_000,
    timeline: {
      timeOrigin: 1_010,
      events: { configReady: 40 },
      cpu: { configReady: 30 },
      peers: {
        A: { label: "a", up: 300, cpu: { up: cpuUp - 20 } },
        B: { label: "b", up: 500, cpu: { up: cpuUp } },
      },
    },
  });
  const a = nodeSteps(timeline(200), 1_000, 2);
  assertEquals(a.cpu, { configReady: 30, allUp: 200 });
  // A peer without CPU leaves the step's CPU out, not wrong.
  const partial = timeline(100);
  delete partial.timeline.peers.A!.cpu;
  assertEquals(nodeSteps(partial, 1_000, 2).cpu, { configReady: 30 });
  const rows = breakdown([a, nodeSteps(timeline(260), 1_000, 2)]);
  assertEquals(rows.map((r) => [r.key, r.cpuMedian]), [
    ["spawned", undefined],
    ["runtime", undefined],
    ["configReady", 30],
    ["allUp", 230],
  ]);
  assertEquals(
    breakdownTable(rows).split("\n").slice(0, 3),
    [
      "| step | median node | slowest node | nodes | CPU used by then (median node) |",
      "|---|---|---|---|---|",
      "| process spawned | 0.00 s | 0.00 s | 2 | — |",
    ],
  );
});

Deno.test("cpuFloor(): 16 agents of 250 ms CPU need at least 2 s on 2 cores", () => {
  const cpu = Array.from({ length: 16 }, (_, i) => 240 + (i % 3) * 10);
  assertEquals(cpuFloor(cpu, 2), {
    median: 250,
    min: 240,
    max: 260,
    total: 3_990,
    wallFloor: 1_995,
  });
});
