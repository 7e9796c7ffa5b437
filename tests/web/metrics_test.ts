import { createApi } from "../../web/api.ts";
import { escapeLabel, renderMetrics } from "../../web/metrics.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import type { Resource } from "../../core/resources/store.ts";
import { assert, assertEquals, assertThrows } from "../_tools/assert.ts";
import { fakeAgent } from "./_fake_agent.ts";
import { parsePrometheusText, type Sample } from "./_prom_parser.ts";

function value(
  families: ReturnType<typeof parsePrometheusText>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const base = name.replace(/_total$/, "");
  const f = families.get(name) ?? families.get(base);
  const s = f?.samples.find((x: Sample) =>
    x.name === name &&
    Object.entries(labels).every(([k, v]) => x.labels[k] === v)
  );
  return s?.value;
}

Deno.test("the strict parser rejects broken exposition text", () => {
  for (
    const bad of [
      "foo 1\n", // no TYPE
      '# TYPE foo gauge\nfoo{a="x} 1\n',
      '# TYPE foo gauge\nfoo{a="\\q"} 1\n',
      "# TYPE foo gauge\nfoo one\n",
      "# TYPE foo gauge\nfoo 1\nfoo 2\n",
      "# TYPE foo counter\nfoo 1\n",
      "# TYPE foo gauge\nfoo 1",
    ]
  ) {
    assertThrows(() => parsePrometheusText(bad), SyntaxError);
  }
});

Deno.test("GET /metrics parses and carries every required family", async () => {
  const now = Date.parse("2026-11-25T08:00:00Z");
  const fake = fakeAgent({ now: () => now });
  const stop = new AbortController();
  const app = createApi(fake.deps, { signal: stop.signal });
  // An endpoint change after start is counted.
  const key = fake.peers[0]!;
  const spec = fake.store.get<PeerStatusSpec>("peerstatuses", key)!.spec;
  fake.store.set("peerstatuses", key, {
    ...spec,
    endpoint: "198.51.100.7:51820",
  });
  fake.store.set("peerstatuses", key, {
    ...spec,
    endpoint: "198.51.100.7:51820",
    receiveBytes: 999,
  });
  const res = await app.request("/metrics");
  assertEquals(res.status, 200);
  assertEquals(
    res.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  const families = parsePrometheusText(await res.text());
  for (
    const name of [
      "edgespan_peers",
      "edgespan_peer_receive_bytes_total",
      "edgespan_peer_transmit_bytes_total",
      "edgespan_peer_last_handshake_age_seconds",
      "edgespan_peer_endpoint_changes_total",
      "edgespan_reconcile_last_duration_seconds",
      "edgespan_reconcile_errors_total",
      "edgespan_discovery_state",
      "edgespan_discovery_latency_seconds",
    ]
  ) assert(families.has(name), `missing ${name}`);
  const statuses = fake.store.list<PeerStatusSpec>("peerstatuses");
  for (const state of ["up", "down", "unknown"]) {
    assertEquals(
      value(families, "edgespan_peers", { state }),
      statuses.filter((s) => s.spec.state === state).length,
      state,
    );
  }
  assertEquals(
    value(families, "edgespan_peer_receive_bytes_total", { peer: key }),
    999,
  );
  assertEquals(
    value(families, "edgespan_peer_endpoint_changes_total", { peer: key }),
    1,
  );
  assertEquals(
    value(families, "edgespan_peer_endpoint_changes_total", {
      peer: fake.peers[1]!,
    }),
    0,
  );
  // Peer 1 is up with a handshake 21 s before "now".
  assertEquals(
    value(families, "edgespan_peer_last_handshake_age_seconds", {
      peer: fake.peers[1]!,
    }),
    21,
  );
  // Peer 3 never had a handshake: no age sample.
  assertEquals(
    value(families, "edgespan_peer_last_handshake_age_seconds", {
      peer: fake.peers[3]!,
    }),
    undefined,
  );
  assertEquals(value(families, "edgespan_reconcile_errors_total"), 1);
  assertEquals(
    value(families, "edgespan_reconcile_last_duration_seconds"),
    0.0085,
  );
  assertEquals(
    value(families, "edgespan_discovery_state", {
      plugin: "discovery-service",
      state: "connected",
    }),
    1,
  );
  assertEquals(
    value(families, "edgespan_discovery_state", {
      plugin: "discovery-service",
      state: "cached",
    }),
    0,
  );
  assertEquals(
    value(families, "edgespan_discovery_latency_seconds", {
      plugin: "discovery-service",
    }),
    0.012,
  );
  stop.abort();
});

Deno.test("renderMetrics escapes awkward label values", () => {
  const peer: Resource<PeerStatusSpec> = {
    type: "peerstatuses",
    id: "k/+=",
    version: 1,
    updated: 0,
    spec: {
      endpoint: "[2001:db8::1]:51820",
      label: 'a "quoted"\\label\nwith newline',
      state: "up",
      receiveBytes: 1,
      transmitBytes: 2,
      lastHandshakeTime: "",
      lastUsedEndpoint: "",
      lastEndpointChange: "",
    },
  };
  const text = renderMetrics({
    version: "1",
    ready: false,
    peers: [peer],
    affiliates: 2,
    endpointChanges: new Map(),
    snapshot: {
      reconcile: { runs: 0, errors: 0, lastDurationMs: 0 },
      discovery: [],
    },
    now: 0,
  });
  const families = parsePrometheusText(text);
  const sample = families.get("edgespan_peer_up")!.samples[0]!;
  assertEquals(sample.labels.label, peer.spec.label);
  assertEquals(escapeLabel('x"\n'), 'x\\"\\n');
  assertEquals(families.get("edgespan_ready")!.samples[0]!.value, 0);
});
