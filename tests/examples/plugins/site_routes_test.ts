/**
 * The route-advertisement example, run through the real loader and
 * sandbox: its networks are published in the local affiliate, and options
 * it rejects are config problems at their path.
 */
import { ConfigError } from "../../../core/config/load.ts";
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { assertEquals, assertRejects } from "../../_tools/assert.ts";
import {
  siteEnv,
  startAgent,
  waitFor,
} from "../../plugins/external/_fixture.ts";

const MODULE = new URL(
  "../../../examples/plugins/site_routes.ts",
  import.meta.url,
).pathname;

Deno.test("site routes example: its networks are published, kept-local ones are not", async () => {
  const env = await siteEnv();
  try {
    await env.writeConfig(
      `  site-routes: { module: ${MODULE}, networks: [10.20.0.0/16, 10.21.0.0/16], keepLocal: [10.21.0.0/16] }`,
    );
    const agent = await startAgent(env, { startLoop: true });
    try {
      const local = () =>
        agent.store.list<AffiliateSpec>("affiliates")
          .find((a) => a.spec.sources.includes("local"))?.spec;
      const advertised = await waitFor("the advertised network", () => {
        const nets = local()?.kubespan?.additionalAddresses;
        return nets?.includes("10.20.0.0/16") ? nets : undefined;
      });
      assertEquals(advertised.includes("10.21.0.0/16"), false);
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("site routes example: a bad option is a config problem at its path", async () => {
  const env = await siteEnv();
  try {
    await env.writeConfig(
      `  site-routes: { module: ${MODULE}, networks: [10.20.0.0/33], keeplocal: [] }`,
    );
    const e = await assertRejects(() => startAgent(env), ConfigError);
    assertEquals(e.problems.map((p) => `${p.path}: ${p.message}`), [
      "plugins.site-routes.keeplocal: unknown key; use networks, keepLocal",
      'plugins.site-routes.networks[0]: "10.20.0.0/33" is not a CIDR prefix',
    ]);
  } finally {
    await env.remove();
  }
});

Deno.test("site routes example: parseOptions keeps networks and keepLocal", async () => {
  const { default: plugin } = await import(
    "../../../examples/plugins/site_routes.ts"
  );
  assertEquals(
    plugin.parseOptions!({ networks: ["10.0.0.0/8"], keepLocal: [] }),
    { ok: true, options: { networks: ["10.0.0.0/8"], keepLocal: [] } },
  );
  assertEquals(plugin.parseOptions!({ networks: "10.0.0.0/8" }), {
    ok: false,
    problems: [{
      path: "networks",
      message: "expected a list of CIDR prefixes",
    }],
  });
});
