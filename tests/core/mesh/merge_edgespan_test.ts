import { assertEquals } from "../../_tools/assert.ts";
import { mergeAffiliates } from "../../../core/mesh/merge.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";

const base = (source: string): AffiliateSpec => ({
  nodeId: "n1",
  hostname: "h",
  nodename: "h",
  machineType: "worker",
  operatingSystem: "edgespan",
  addresses: ["10.0.0.1"],
  sources: [source],
});

Deno.test("mergeAffiliates() unites edgespan's extension from two sources, each observation once", () => {
  const a: AffiliateSpec = {
    ...base("svc-a"),
    edgespan: {
      advertised: ["10.0.0.1:51820"],
      observed: [{ affiliateID: "n2", endpoint: "198.51.100.11:1024" }],
    },
  };
  const b: AffiliateSpec = {
    ...base("svc-b"),
    edgespan: {
      advertised: ["10.0.0.1:51820", "203.0.113.1:51820"],
      observed: [
        { affiliateID: "n2", endpoint: "198.51.100.11:1024" },
        { affiliateID: "n3", endpoint: "198.51.100.12:51820" },
      ],
    },
  };
  const [merged] = mergeAffiliates([[a], [b]]);
  assertEquals(merged!.edgespan, {
    advertised: ["10.0.0.1:51820", "203.0.113.1:51820"],
    observed: [
      { affiliateID: "n2", endpoint: "198.51.100.11:1024" },
      { affiliateID: "n3", endpoint: "198.51.100.12:51820" },
    ],
  });
  // Only one source has it: kept as it is.
  assertEquals(mergeAffiliates([[base("x")], [a]])[0]!.edgespan, a.edgespan);
  assertEquals(
    mergeAffiliates([[base("x")], [base("y")]])[0]!.edgespan,
    undefined,
  );
});
