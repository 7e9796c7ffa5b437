import {
  breakdown,
  breakdownTable,
  nodeSteps,
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
