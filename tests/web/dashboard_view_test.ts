import {
  formatRate,
  labelsOverlap,
  layoutMesh,
  meshLines,
  pathCell,
  RateHistory,
  relayOf,
  sparklinePoints,
} from "../../web/dashboard/view.ts";
import { assert, assertEquals } from "../_tools/assert.ts";

Deno.test("RateHistory turns counter readings into rates and restarts after a counter reset", () => {
  const h = new RateHistory(3);
  h.add("K", { t: 0, rx: 0, tx: 0 });
  assertEquals(h.latest("K"), undefined);
  h.add("K", { t: 2000, rx: 2048, tx: 200 });
  h.add("K", { t: 4000, rx: 6144, tx: 200 });
  assertEquals(h.rates("K"), [{ rx: 1024, tx: 100 }, { rx: 2048, tx: 0 }]);
  h.add("K", { t: 6000, rx: 6144, tx: 200 });
  h.add("K", { t: 8000, rx: 6144, tx: 200 });
  assertEquals(h.rates("K").length, 3, "keeps the last 3 rates");
  h.add("K", { t: 10000, rx: 10, tx: 10 }); // peer re-added: counters restart
  assertEquals(h.rates("K"), []);
  h.retain(new Set());
  assertEquals(h.rates("K"), []);
});

Deno.test("formatRate() and sparklinePoints() draw what they are given", () => {
  assertEquals([0, 512, 1536, 5 * 1024 * 1024].map(formatRate), [
    "0 B/s",
    "512 B/s",
    "1.5 KiB/s",
    "5.0 MiB/s",
  ]);
  assertEquals(sparklinePoints([0, 5, 10], 80, 20), "1,19 40,10 79,1");
  assertEquals(sparklinePoints([], 80, 20), "");
});

Deno.test("layoutMesh() keeps labels apart and off this node, for 1 to 24 peers with networks", () => {
  for (const n of [1, 2, 3, 5, 8, 12, 24]) {
    const peers = Array.from({ length: n }, (_, i) => ({
      key: `K${i}`,
      lines: [`edge-site-${i + 1}`, `10.${i}.0.0/24`, `fd00:${i}::/64`],
    }));
    const layout = layoutMesh(peers);
    assert(!labelsOverlap(layout), `${n} peers: labels overlap`);
    for (const p of layout.peers) {
      assert(p.box.x >= 0 && p.box.y >= 0, `${n}: label outside the picture`);
      assert(p.box.x + p.box.w <= layout.width, `${n}: label cut on the right`);
      assert(
        p.box.y + p.box.h <= layout.height,
        `${n}: label cut at the bottom`,
      );
      const dx = Math.max(
        p.box.x - layout.cx,
        0,
        layout.cx - (p.box.x + p.box.w),
      );
      const dy = Math.max(
        p.box.y - layout.cy,
        0,
        layout.cy - (p.box.y + p.box.h),
      );
      assert(Math.hypot(dx, dy) >= 16, `${n}: a label covers this node`);
    }
  }
});

Deno.test("relayOf(), pathCell() and meshLines() mark relayed peers", () => {
  assertEquals(
    ["relay:edge-r", "direct", undefined, "relay:"].map(relayOf),
    ["edge-r", undefined, undefined, undefined],
  );
  assertEquals(pathCell("relay:edge-r"), {
    badge: "relayed",
    text: "via edge-r",
  });
  assertEquals(pathCell("direct"), { badge: "direct", text: "direct" });
  assertEquals(pathCell(undefined), { badge: "", text: "" });
  assertEquals(meshLines("w2", ["10.2.0.0/24"], "relay:edge-r"), [
    "w2",
    "via edge-r",
    "10.2.0.0/24",
  ]);
  assertEquals(meshLines("w3", ["10.3.0.0/24"], "direct"), [
    "w3",
    "10.3.0.0/24",
  ]);
});
