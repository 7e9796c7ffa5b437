import { createApi } from "../../web/api.ts";
import { renderMetrics } from "../../web/metrics.ts";
import { Timeline } from "../../core/timeline.ts";
import { assertEquals, assertStringIncludes } from "../_tools/assert.ts";
import { fakeAgent } from "./_fake_agent.ts";

function recorded(): Timeline {
  let t = 0;
  const timeline = new Timeline({ clock: () => t, timeOrigin: 1_000_000 });
  t = 80;
  timeline.mark("configReady");
  t = 130;
  timeline.mark("apiReady");
  t = 400;
  timeline.peer("KEY=", "edge-2", "known");
  t = 420;
  timeline.peer("KEY=", "edge-2", "configured");
  timeline.peer("KEY=", "edge-2", "handshake", 425.25);
  t = 450;
  timeline.peer("KEY=", "edge-2", "up");
  timeline.peer("KEY=", "edge-2", "up", 999);
  return timeline;
}

Deno.test("GET /v1/timeline serves the agent's steps in ms after its start", async () => {
  const fake = fakeAgent();
  const timeline = recorded();
  const app = createApi({ ...fake.deps, timeline: () => timeline.snapshot() });
  const res = await app.request("/v1/timeline");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    timeOrigin: 1_000_000,
    events: { configReady: 80, apiReady: 130 },
    peers: {
      "KEY=": {
        label: "edge-2",
        known: 400,
        configured: 420,
        handshake: 425.3,
        up: 450,
      },
    },
  });
  const without = createApi(fake.deps);
  const missing = await without.request("/v1/timeline");
  assertEquals(missing.status, 404);
  assertStringIncludes(await missing.text(), "keeps no timeline");
});

Deno.test("/metrics shows the timeline in seconds after the start", () => {
  const fake = fakeAgent({ peers: 0 });
  const text = renderMetrics({
    version: "1",
    ready: true,
    peers: [],
    affiliates: 1,
    endpointChanges: new Map(),
    snapshot: { ...fake.metrics, timeline: recorded().snapshot() },
    now: 0,
  });
  for (
    const line of [
      'edgespan_timeline_seconds{event="configReady"} 0.08',
      'edgespan_timeline_seconds{event="apiReady"} 0.13',
      'edgespan_peer_timeline_seconds{peer="KEY=",label="edge-2",event="known"} 0.4',
      'edgespan_peer_timeline_seconds{peer="KEY=",label="edge-2",event="handshake"} 0.4253',
      'edgespan_peer_timeline_seconds{peer="KEY=",label="edge-2",event="up"} 0.45',
    ]
  ) assertStringIncludes(text, line + "\n");
});

Deno.test("/metrics shows the CPU used at each start-up step when the timeline records it", () => {
  const fake = fakeAgent({ peers: 0 });
  let cpu = 41.5;
  const timeline = new Timeline({ clock: () => 80, cpu: () => cpu });
  timeline.mark("configReady");
  cpu = 97.25;
  timeline.mark("firstPass");
  const render = (t: Timeline) =>
    renderMetrics({
      version: "1",
      ready: true,
      peers: [],
      affiliates: 1,
      endpointChanges: new Map(),
      snapshot: { ...fake.metrics, timeline: t.snapshot() },
      now: 0,
    });
  const text = render(timeline);
  assertStringIncludes(
    text,
    'edgespan_timeline_cpu_seconds{event="configReady"} 0.0415\n',
  );
  assertStringIncludes(
    text,
    'edgespan_timeline_cpu_seconds{event="firstPass"} 0.0973\n',
  );
  assertEquals(
    render(recorded()).includes("edgespan_timeline_cpu_seconds"),
    false,
  );
});
