import { createApi } from "../../web/api.ts";
import { renderMetrics } from "../../web/metrics.ts";
import type {
  PeerStatusSpec,
  RelayPairSpec,
} from "../../core/resources/specs.ts";
import type { Resource } from "../../core/resources/store.ts";
import { assertEquals } from "../_tools/assert.ts";
import { fakeAgent } from "./_fake_agent.ts";
import { parsePrometheusText } from "./_prom_parser.ts";

function peer(
  id: string,
  label: string,
  path?: string,
): Resource<PeerStatusSpec> {
  return {
    type: "peerstatuses",
    id,
    version: 1,
    spec: {
      endpoint: "203.0.113.50:51900",
      label,
      state: "up",
      receiveBytes: 1,
      transmitBytes: 2,
      lastHandshakeTime: "",
      lastUsedEndpoint: "",
      lastEndpointChange: "",
      ...(path ? { path } : {}),
    },
  } as Resource<PeerStatusSpec>;
}

Deno.test("renderMetrics() edgespan_peer_path says which peers go through which relay", () => {
  const text = renderMetrics({
    version: "1",
    ready: true,
    peers: [
      peer("K1", "w2", "relay:relay"),
      peer("K2", "relay", "direct"),
      peer("K3", "talos"),
    ],
    affiliates: 4,
    endpointChanges: new Map(),
    snapshot: {
      reconcile: { runs: 0, errors: 0, lastDurationMs: 0 },
      discovery: [],
    },
    now: 0,
  });
  const samples = parsePrometheusText(text).get("edgespan_peer_path")!.samples;
  assertEquals(
    samples.map((s) => [s.labels.label, s.labels.path, s.value]),
    [["w2", "relay:relay", 1], ["relay", "direct", 1]],
  );
});

Deno.test("renderMetrics() edgespan_peers_relayed counts the peers through each relay", () => {
  const text = renderMetrics({
    version: "1",
    ready: true,
    peers: [
      peer("K1", "w2", "relay:r1"),
      peer("K2", "w3", "relay:r1"),
      peer("K3", "w4", "relay:r2"),
      peer("K4", "w5", "direct"),
    ],
    affiliates: 5,
    endpointChanges: new Map(),
    snapshot: {
      reconcile: { runs: 0, errors: 0, lastDurationMs: 0 },
      discovery: [],
    },
    now: 0,
  });
  const families = parsePrometheusText(text);
  assertEquals(
    families.get("edgespan_peers_relayed")!.samples.map((
      s,
    ) => [s.labels.relay, s.value]),
    [["r1", 2], ["r2", 1]],
  );
  // Not a relay: no relay-side families.
  assertEquals(families.has("edgespan_relay_pairs"), false);
});

Deno.test("GET /metrics on a relay box: pairs served, bytes per pair and leg, refusals", async () => {
  const fake = fakeAgent({ peers: 2 });
  const pair: RelayPairSpec = {
    labels: ["edge-a", "edge-b"],
    peers: ["AAAA=", "BBBB="],
    ports: [51900, 51901],
    latched: ["198.51.100.7:40001", "203.0.113.9:51820"],
    bytes: [2000, 1000],
    packets: 20,
    dropped: 1,
    since: "2026-12-01T12:00:00.000Z",
  };
  // The agent refreshes `relaypairs` when asked for its metrics: the
  // route must read the pairs after that.
  fake.deps.metrics = () => {
    fake.store.replaceAll("relaypairs", new Map([["edge-a–edge-b", pair]]));
    return { ...fake.metrics, relay: { refusals: { full: 3 } } };
  };
  const stop = new AbortController();
  const app = createApi(fake.deps, { signal: stop.signal });
  try {
    const res = await app.request("/metrics");
    assertEquals(res.status, 200);
    const families = parsePrometheusText(await res.text());
    const samples = (name: string) =>
      families.get(name)!.samples.map((s) => [s.labels, s.value]);
    assertEquals(samples("edgespan_relay_pairs"), [[{}, 1]]);
    assertEquals(samples("edgespan_relay_forwarded_bytes_total"), [
      [{
        pair: "edge-a–edge-b",
        from: "edge-a",
        to: "edge-b",
        port: "51900",
      }, 2000],
      [{
        pair: "edge-a–edge-b",
        from: "edge-b",
        to: "edge-a",
        port: "51901",
      }, 1000],
    ]);
    assertEquals(samples("edgespan_relay_forwarded_packets_total"), [
      [{ pair: "edge-a–edge-b" }, 20],
    ]);
    assertEquals(samples("edgespan_relay_dropped_packets_total"), [
      [{ pair: "edge-a–edge-b" }, 1],
    ]);
    assertEquals(
      samples("edgespan_relay_refusals_total").map(([l, v]) => [
        (l as Record<string, string>).reason,
        v,
      ]),
      [["full", 3], ["ports", 0], ["bind", 0], ["self", 0], ["other", 0]],
    );
  } finally {
    stop.abort();
  }
});
