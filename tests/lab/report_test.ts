import { assertEquals } from "../_tools/assert.ts";
import {
  directCell,
  renderMarkdown,
  type ScenarioResult,
  tableRow,
} from "./report.ts";

const sameLan: ScenarioResult = {
  scenario: "4",
  title: "two boxes behind one NAT",
  mode: "edgespan",
  suffix: "0a1b2c3d",
  pairs: [
    { a: "cp", b: "w1", noDirectPath: false, up: true, path: "WAN" },
    { a: "cp", b: "w2", noDirectPath: false, up: true, path: "WAN" },
    { a: "w1", b: "w2", noDirectPath: false, up: true, path: "LAN" },
  ],
  fullMeshMs: 3200,
  meshLimitMs: 60000,
};

const symmetric: ScenarioResult = {
  scenario: "6",
  title: "both symmetric",
  mode: "kubespan",
  suffix: "0a1b2c3d",
  pairs: [{ a: "w1", b: "w2", noDirectPath: true, up: false }],
  meshLimitMs: 150000,
};

Deno.test("tableRow() a full mesh: pairs, time and paths", () => {
  assertEquals(tableRow(sameLan), {
    scenario: "4. two boxes behind one NAT",
    mode: "edgespan",
    pairsUp: "3/3",
    fullMesh: "3.2 s",
    recover: "—",
    direct: "direct: 2 WAN, 1 LAN",
    relayed: "—",
  });
});

Deno.test("tableRow() a pair without a direct path says so", () => {
  const row = tableRow(symmetric);
  assertEquals(row.pairsUp, "0/1");
  assertEquals(row.fullMesh, "never (limit 150.0 s)");
  assertEquals(row.direct, "no direct path: w1–w2 (relay needed)");
});

Deno.test("tableRow() recovery: figure, partial and skipped", () => {
  const base = { ...sameLan, scenario: "9" };
  assertEquals(
    tableRow({
      ...base,
      event: {
        kind: "rebind",
        sites: ["home"],
        skipped: false,
        recoverMs: 1500,
        recoverLimitMs: 90000,
      },
    }).recover,
    "1.5 s",
  );
  assertEquals(
    tableRow({
      ...base,
      pairs: base.pairs.map((p, i) => i === 0 ? { ...p, recoveredMs: 900 } : p),
      event: {
        kind: "renumber",
        sites: ["home"],
        skipped: false,
        recoverLimitMs: 90000,
      },
    }).recover,
    "not within 90.0 s (no traffic: cp–w2, w1–w2)",
  );
  assertEquals(
    tableRow({
      ...symmetric,
      event: {
        kind: "rebind",
        sites: ["home"],
        skipped: true,
        recoverLimitMs: 90000,
      },
    }).recover,
    "not run (mesh not full)",
  );
});

Deno.test("directCell() a pair that should connect but did not is 'not up'", () => {
  assertEquals(
    directCell({
      ...sameLan,
      pairs: [
        { a: "w1", b: "w2", noDirectPath: false, up: false },
        { a: "cp", b: "w1", noDirectPath: false, up: true, path: "WAN" },
      ],
    }),
    "direct: 1 WAN; not up: w1–w2",
  );
});

Deno.test("renderMarkdown() one header, one row per result", () => {
  assertEquals(
    renderMarkdown([symmetric]),
    "| scenario | mode | pairs up / total | time to full mesh | time to recover (9, 10) | direct or not | relayed |\n" +
      "|---|---|---|---|---|---|---|\n" +
      "| 6. both symmetric | kubespan | 0/1 | never (limit 150.0 s) | — | no direct path: w1–w2 (relay needed) | — |\n",
  );
});

Deno.test("tableRow() a relayed pair is counted as relayed, not direct", () => {
  const row = tableRow({
    ...symmetric,
    mode: "edgespan",
    pairs: [
      { a: "relay", b: "w1", noDirectPath: false, up: true, path: "WAN" },
      { a: "relay", b: "w2", noDirectPath: false, up: true, path: "WAN" },
      {
        a: "w1",
        b: "w2",
        noDirectPath: true,
        up: true,
        path: "WAN",
        relay: "relay",
      },
    ],
    fullMeshMs: 12_400,
  });
  assertEquals(row.pairsUp, "3/3");
  assertEquals(row.direct, "direct: 2 WAN");
  assertEquals(row.relayed, "1: w1–w2 via relay");
});
