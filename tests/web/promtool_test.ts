/**
 * Both expositions (the agent's `/metrics` and the discovery service's)
 * pass `promtool check metrics` (format and Prometheus naming lint), with
 * every optional family present.
 */
import { renderMetrics } from "../../web/metrics.ts";
import { readProcessStats } from "../../web/process_stats.ts";
import {
  renderMetrics as renderDiscoveryMetrics,
  RequestCounters,
} from "../../plugins/discovery_service/server/metrics.ts";
import { fakeAgent } from "./_fake_agent.ts";
import { assert, assertEquals } from "../_tools/assert.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";

const promtool = await (async () => {
  try {
    const out = await new Deno.Command("promtool", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
})();
if (!promtool) {
  console.log("promtool_test: skipped: apt-get install prometheus (promtool)");
}

async function check(text: string): Promise<{ code: number; said: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const d = new TextDecoder();
  return {
    code: out.code,
    said: (d.decode(out.stdout) + d.decode(out.stderr)).trim(),
  };
}

/** Every family's samples follow its TYPE line, with no other family in between. */
function familiesTogether(text: string): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+)/.exec(line);
    if (type) {
      current = type[1]!;
      if (seen.has(current)) problems.push(`${current} declared twice`);
      seen.add(current);
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    if (name !== current) problems.push(`${name} sample under ${current}`);
  }
  return problems;
}

Deno.test({
  name: "promtool check metrics accepts the agent's /metrics with every family",
  ignore: !promtool,
  async fn() {
    const now = Date.now();
    const fake = fakeAgent({ now: () => now });
    const text = renderMetrics({
      version: "0.1.0",
      commit: "5531947abcde",
      ready: true,
      peers: fake.store.list<PeerStatusSpec>("peerstatuses"),
      affiliates: 5,
      endpointChanges: new Map([[fake.peers[0]!, 2]]),
      snapshot: {
        reconcile: { runs: 10, errors: 1, lastDurationMs: 12 },
        discovery: [{
          name: "discovery-service",
          state: "connected",
          latencyMs: 4,
        }],
        dataplane: { repairs: { nft: 1 }, drift: 0 },
        reload: { lastOk: true, lastSuccessAt: now, failures: 1 },
        plugins: [{
          name: "endpoint-search",
          calls: 3,
          errors: 0,
          seconds: 0.01,
        }],
        relay: { refusals: { full: 2 } },
      },
      relayPairs: [{
        type: "relaypairs",
        id: "edge-a–edge-b",
        version: 1,
        updated: now,
        spec: {
          labels: ["edge-a", "edge-b"],
          peers: ["AAAA=", "BBBB="],
          ports: [51900, 51901],
          latched: ["198.51.100.7:40001", "203.0.113.9:51820"],
          bytes: [2000, 1000],
          packets: 20,
          dropped: 1,
          since: new Date(now).toISOString(),
        },
      }],
      plugins: [{ name: "endpoint-search", enabled: true }, {
        name: "endpoint-cycling",
        enabled: false,
      }],
      process: readProcessStats(),
      now,
    });
    for (
      const family of [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        'edgespan_build_info{version="0.1.0",commit="5531947abcde"} 1',
        'edgespan_plugin_enabled{plugin="endpoint-search"} 1',
        "edgespan_config_last_reload_successful 1",
        "edgespan_config_last_reload_success_timestamp_seconds",
        "edgespan_peer_last_handshake_timestamp_seconds{",
        "edgespan_relay_pairs 1",
        'edgespan_relay_refusals_total{reason="full"} 2',
        "edgespan_relay_forwarded_bytes_total{",
      ]
    ) assert(text.includes(family), family);
    assertEquals(familiesTogether(text), []);
    assertEquals(await check(text), { code: 0, said: "" });
  },
});

Deno.test({
  name:
    "promtool check metrics accepts the discovery service's exposition, each family's samples together",
  ignore: !promtool,
  async fn() {
    const counters = new RequestCounters();
    counters.count("Hello", "OK");
    counters.count("AffiliateUpdate", "OK");
    counters.count("Watch", "CANCELLED");
    const text = renderDiscoveryMetrics(
      { clusters: 1, affiliates: 3, watchers: 2 },
      counters,
    );
    assertEquals(familiesTogether(text), []);
    assertEquals(await check(text), { code: 0, said: "" });
  },
});
