import {
  esc,
  lineChart,
  niceStep,
  waterfall,
} from "../../../build/bench/svg.ts";
import {
  assert,
  assertEquals,
  assertStringIncludes,
} from "../../_tools/assert.ts";

Deno.test("niceStep() picks 1, 2 or 5 times a power of ten", () => {
  assertEquals(
    [niceStep(10), niceStep(16), niceStep(0.66), niceStep(7.6), niceStep(0)],
    [2, 5, 0.2, 2, 1],
  );
});

Deno.test("lineChart() maps points into the plot area with ticks from 0 and a legend", () => {
  const svg = lineChart({
    title: "Start <to> full mesh",
    xLabel: "nodes",
    yLabel: "s",
    series: [
      { name: "edgespan", points: [[4, 1], [16, 4]] },
      { name: "static", points: [[4, 0.1], [16, 0.4]] },
    ],
    width: 640,
    height: 360,
  });
  assertStringIncludes(svg, "Start &lt;to&gt; full mesh");
  // x: 0..20 over 60..490, y: 0..4 over 312..36
  assertStringIncludes(svg, 'points="146,243 404,36"');
  assertStringIncludes(svg, 'points="146,305.1 404,284.4"');
  assertStringIncludes(svg, ">edgespan</text>");
  assertStringIncludes(svg, ">static</text>");
  assert(svg.trimEnd().endsWith("</svg>"));
});

Deno.test("waterfall() draws each step from the latest earlier one, skipping steps not reached", () => {
  const svg = waterfall({
    title: "t",
    rows: [{ name: "edge-1", steps: { a: 500, c: 1000 } }],
    phases: [{ key: "a", text: "A" }, { key: "b", text: "B" }, {
      key: "c",
      text: "C",
    }],
    width: 760,
  });
  // 0..1 s over 70..570
  assertStringIncludes(svg, '<rect x="70" y="38" width="250" height="12"');
  assertStringIncludes(svg, '<rect x="320" y="38" width="250" height="12"');
  assertEquals(svg.match(/<title>edge-1:/g)?.length, 2);
  assertStringIncludes(svg, "edge-1: C at 1.000 s");
  assertEquals(esc(`a"&b`), "a&quot;&amp;b");
});
