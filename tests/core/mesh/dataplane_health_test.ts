/**
 * Dataplane repairs reach `/readyz` (the mesh step's `dataplane` check) and
 * `/metrics` (`edgespan_dataplane_repairs_total`, `edgespan_dataplane_drift`).
 */
import {
  dataplaneCheck,
  type DataplaneHealth,
} from "../../../core/mesh/dataplane.ts";
import { createMeshStep } from "../../../core/mesh/mesh_step.ts";
import { renderMetrics } from "../../../web/metrics.ts";
import { parsePrometheusText } from "../../web/_prom_parser.ts";
import { FakeDataplane } from "./_fake_dataplane.ts";
import { assertEquals } from "../../_tools/assert.ts";

const NONE = { link: 0, device: 0, "wireguard-go": 0, routing: 0, nft: 0 };

Deno.test("dataplaneCheck: in sync, with repairs counted, and not ready while drift is open", () => {
  assertEquals(dataplaneCheck({ repairs: NONE, drift: [] }), {
    ok: true,
    detail: "in sync; no repairs",
  });
  assertEquals(
    dataplaneCheck({
      repairs: { ...NONE, nft: 2, "wireguard-go": 1 },
      drift: [],
      last: { object: "nft", detail: "table inet edgespan is missing", at: 5 },
    }),
    { ok: true, detail: "in sync; 3 repairs (wireguard-go 1, nft 2)" },
  );
  assertEquals(
    dataplaneCheck({
      repairs: { ...NONE, link: 1 },
      drift: ['wireguard-go: wireguard-go for "wg0" exited with code 1'],
    }),
    {
      ok: false,
      detail:
        'drift: wireguard-go: wireguard-go for "wg0" exited with code 1; 1 repair (link 1)',
    },
  );
});

class HealthyFake extends FakeDataplane {
  state: DataplaneHealth = { repairs: { ...NONE }, drift: [] };
  health(): DataplaneHealth {
    return this.state;
  }
}

Deno.test("the mesh step adds a dataplane check and passes health on", () => {
  const dp = new HealthyFake();
  const step = createMeshStep(dp);
  assertEquals(step.checks?.().dataplane, {
    ok: true,
    detail: "in sync; no repairs",
  });
  dp.state = { repairs: { ...NONE }, drift: ["nft: table is missing"] };
  assertEquals(step.checks?.().dataplane?.ok, false);
  assertEquals(step.health?.(), dp.state);
  // a dataplane that does not report health adds no check
  assertEquals(
    createMeshStep(new FakeDataplane()).checks?.().dataplane,
    undefined,
  );
});

Deno.test("renderMetrics shows dataplane repairs by object and open drift", () => {
  const text = renderMetrics({
    version: "1",
    ready: true,
    peers: [],
    affiliates: 1,
    endpointChanges: new Map(),
    snapshot: {
      reconcile: { runs: 0, errors: 0, lastDurationMs: 0 },
      discovery: [],
      dataplane: { repairs: { ...NONE, nft: 3 }, drift: 0 },
    },
    now: 0,
  });
  const families = parsePrometheusText(text);
  const repairs = families.get("edgespan_dataplane_repairs_total") ??
    families.get("edgespan_dataplane_repairs");
  assertEquals(
    repairs?.samples.map((s) => [s.labels.object, s.value]),
    [["link", 0], ["device", 0], ["wireguard-go", 0], ["routing", 0], [
      "nft",
      3,
    ]],
  );
  assertEquals(
    families.get("edgespan_dataplane_drift")?.samples[0]?.value,
    0,
  );
});
