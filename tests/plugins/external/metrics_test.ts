/**
 * `/metrics` counts hook calls, errors and time per plugin, a site
 * plugin's included (rendered from the agent's API view).
 */
import { agentApiDeps } from "../../../web/agent_deps.ts";
import { renderMetrics } from "../../../web/metrics.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";
import { siteEnv, startAgent, status, waitFor } from "./_fixture.ts";

Deno.test("metrics count a site plugin's hook calls and errors", async () => {
  const env = await siteEnv();
  try {
    const file = await env.writePlugin(
      "r.js",
      `export default { apiVersion: 1, version: "1", description: "r", hooks: ["routeAdvertisement"],
        create: () => ({ routeAdvertisement: { advertise() { throw new Error("no"); } } }) };`,
    );
    await env.writeConfig(`  r: { module: ${file} }`);
    const agent = await startAgent(env);
    try {
      await waitFor("r to fail", () => {
        agent.registry.hooks.routeAdvertisement.advertise();
        return status(agent, "r").state === "failed" || undefined;
      });
      const deps = await agentApiDeps(agent, "test");
      const snapshot = deps.metrics();
      const text = renderMetrics({
        version: "test",
        ready: true,
        peers: [],
        affiliates: 0,
        endpointChanges: new Map(),
        snapshot,
        now: Date.now(),
      });
      const r = snapshot.plugins?.find((p) => p.name === "r");
      assert(r && r.calls >= 2 && r.errors >= 1, JSON.stringify(r));
      assert(
        text.includes(`edgespan_plugin_calls_total{plugin="r"} ${r.calls}\n`),
      );
      assert(
        text.includes(`edgespan_plugin_errors_total{plugin="r"} ${r.errors}\n`),
      );
      const line = text.split("\n").find((l) =>
        l.startsWith('edgespan_plugin_call_seconds_total{plugin="r"} ')
      );
      assert(Number(line?.split(" ")[1]) > 0, line);
      assertEquals(
        snapshot.plugins?.find((p) => p.name === "route-advertisement")?.errors,
        0,
      );
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});
