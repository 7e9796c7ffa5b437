import { mergeAffiliates } from "../../../core/mesh/merge.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { assertEquals } from "../../_tools/assert.ts";

function node(spec: Partial<AffiliateSpec>): AffiliateSpec {
  return {
    nodeId: "n1",
    hostname: "h",
    nodename: "h",
    machineType: "controlplane",
    operatingSystem: "",
    addresses: [],
    sources: ["a"],
    ...spec,
  };
}

Deno.test("mergeAffiliates() keeps control-plane data reported by any source", () => {
  const cp = { apiServerPort: 6443 };
  const merged = mergeAffiliates([
    [node({ controlPlane: cp })],
    [node({ sources: ["b"] })],
  ]);
  assertEquals(merged[0]!.controlPlane, cp);
  assertEquals(merged[0]!.sources, ["a", "b"]);
  const later = mergeAffiliates([
    [node({})],
    [node({ sources: ["b"], controlPlane: { apiServerPort: 443 } })],
  ]);
  assertEquals(later[0]!.controlPlane, { apiServerPort: 443 });
  assertEquals(
    mergeAffiliates([[node({})], [node({ sources: ["b"] })]])[0]!.controlPlane,
    undefined,
  );
});
