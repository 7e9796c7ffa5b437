/**
 * The endpoint filter example, run through the real loader and sandbox:
 * the first call for an input has no answer yet (the plugin is skipped),
 * the answer arrives and asks for a pass, later calls are filtered.
 */
import { assertEquals } from "../../_tools/assert.ts";
import {
  siteEnv,
  startAgent,
  waitFor,
} from "../../plugins/external/_fixture.ts";

const MODULE = new URL(
  "../../../examples/plugins/endpoint_allowlist.ts",
  import.meta.url,
).pathname;

Deno.test("endpoint allowlist example: peer endpoints outside the allowed networks are dropped", async () => {
  const env = await siteEnv();
  try {
    await env.writeConfig(
      `  endpoint-filter: false\n  allowlist: { module: ${MODULE}, allow: [192.0.2.0/24] }`,
    );
    const reasons: string[] = [];
    const agent = await startAgent(env);
    const real = agent.requestReconcile.bind(agent);
    agent.requestReconcile = (reason) => {
      reasons.push(reason);
      real(reason);
    };
    try {
      const endpoints = ["192.0.2.7:51820", "203.0.113.9:51820"];
      const peer = { publicKey: "k", label: "b", pass: { passId: 1, now: 0 } };
      // No answer yet: the plugin is skipped for this call.
      assertEquals(
        agent.registry.hooks.endpointFilter.accepted(endpoints, peer),
        endpoints,
      );
      await waitFor("a pass request", () => reasons.length > 0 || undefined);
      assertEquals(reasons, [
        "allowlist: endpointFilter.accepted answered anew",
      ]);
      // Keyed without the pass context: the next pass gets the answer.
      const next = { ...peer, pass: { passId: 2, now: 1 } };
      assertEquals(
        agent.registry.hooks.endpointFilter.accepted(endpoints, next),
        [
          "192.0.2.7:51820",
        ],
      );
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("endpoint allowlist example: allowed() matches IPv4 prefixes only", async () => {
  const { allowed, default: plugin } = await import(
    "../../../examples/plugins/endpoint_allowlist.ts"
  );
  const parsed = plugin.parseOptions!({ allow: ["10.1.0.0/16", "bad"] });
  assertEquals(parsed.ok, false);
  const ok = plugin.parseOptions!({ allow: ["10.1.0.0/16"] });
  if (!ok.ok) throw new Error("rejected");
  assertEquals(
    ["10.1.2.3:51820", "10.2.0.1:51820", "[fd00::1]:51820"].map((e) =>
      allowed(e, ok.options.allow)
    ),
    [true, false, false],
  );
});
