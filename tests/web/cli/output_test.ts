import { formatTable } from "../../../web/cli/output.ts";
import {
  RESOURCE_DEFINITIONS,
  ResourceType,
} from "../../../core/resources/definitions.ts";
import type { Resource } from "../../../core/resources/store.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { assertEquals } from "../../_tools/assert.ts";

function affiliateResource(id: string, spec: Partial<AffiliateSpec>): Resource {
  return {
    type: ResourceType.affiliates,
    id,
    version: 1,
    updated: 0,
    spec: {
      nodeId: id,
      hostname: id,
      nodename: id,
      machineType: "worker",
      operatingSystem: "Talos (v1.9.0)",
      addresses: ["10.0.0.1"],
      sources: ["discovery-service"],
      ...spec,
    },
  };
}

Deno.test("formatTable() shows whether an affiliate is a control plane", () => {
  const def = RESOURCE_DEFINITIONS.find((d) =>
    d.type === ResourceType.affiliates
  )!;
  const table = formatTable(def, [
    affiliateResource("cp-1", {
      machineType: "controlplane",
      controlPlane: { apiServerPort: 6443 },
    }),
    affiliateResource("w-1", {}),
  ], 0);
  assertEquals(
    table,
    [
      "ID     VERSION   HOSTNAME   MACHINE TYPE   CONTROL PLANE   ADDRESSES",
      'cp-1   1         cp-1       controlplane   yes             ["10.0.0.1"]',
      'w-1    1         w-1        worker         no              ["10.0.0.1"]',
      "",
    ].join("\n"),
  );
});
