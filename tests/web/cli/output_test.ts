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

function peerStatus(id: string, reason?: string): Resource {
  return {
    type: ResourceType.peerstatuses,
    id,
    version: 1,
    updated: 0,
    spec: {
      endpoint: "198.51.100.12:51820",
      label: id,
      state: reason ? "down" : "up",
      receiveBytes: 0,
      transmitBytes: 148,
      lastHandshakeTime: "",
      lastUsedEndpoint: "198.51.100.12:51820",
      lastEndpointChange: "",
      ...(reason ? { reason } : {}),
    },
  };
}

Deno.test("formatTable() shows the REASON column only when a peer has a reason", () => {
  const def = RESOURCE_DEFINITIONS.find((d) =>
    d.type === ResourceType.peerstatuses
  )!;
  assertEquals(
    formatTable(def, [peerStatus("w1")], 0).split("\n")[0],
    "ID   VERSION   LABEL   ENDPOINT              STATE   RX    TX      HANDSHAKE",
    "KubeSpan's columns when no plugin gives a reason",
  );
  assertEquals(
    formatTable(def, [
      peerStatus("w1"),
      peerStatus("w2", "no handshake on any of 2 endpoints for 42s"),
    ], 0),
    [
      "ID   VERSION   LABEL   ENDPOINT              STATE   RX    TX      HANDSHAKE   REASON",
      "w1   1         w1      198.51.100.12:51820   up      0 B   148 B   never",
      "w2   1         w2      198.51.100.12:51820   down    0 B   148 B   never       no handshake on any of 2 endpoints for 42s",
      "",
    ].join("\n"),
  );
});
