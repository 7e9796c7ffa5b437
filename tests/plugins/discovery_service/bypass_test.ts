import { testPluginContext } from "../../_tools/plugin_context.ts";
import { bypassDestinations } from "../../../plugins/discovery_service/bypass.ts";
import { createDiscoveryServicePlugin } from "../../../plugins/discovery_service/plugin.ts";
import { discoveryServerPlugin } from "../../../plugins/discovery_service/embedded.ts";
import { parseDiscoveryUrl } from "../../../plugins/discovery_service/target.ts";
import { validateConfig } from "../../../core/config/validate.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import type { PluginContext } from "../../../core/plugins/types.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

const ENDPOINTS = [
  "http://10.99.0.1:3000/",
  "https://[2001:db8::5]/",
  "grpc://disco.example:443",
  "http://10.99.0.1:3001/",
];

function config(serve?: { listen: string }) {
  const r = validateConfig({
    cluster: {
      id: "x",
      secret: "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=",
    },
    discovery: { endpoints: ENDPOINTS, ...(serve ? { serve } : {}) },
  });
  assert(r.ok);
  return r.config;
}

function context(cfg: ReturnType<typeof config>): PluginContext {
  return testPluginContext({
    pluginName: "p",
    config: cfg,
    identity: { nodeId: "n" } as LocalIdentity,
    now: () => 0,
  });
}

Deno.test("bypassDestinations() takes literals as they are and resolves names once each", async () => {
  const asked: string[] = [];
  const got = await bypassDestinations(
    ENDPOINTS.map(parseDiscoveryUrl),
    (host) => {
      asked.push(host);
      return Promise.resolve(["192.0.2.44"]);
    },
  );
  assertEquals(got, ["10.99.0.1", "2001:db8::5", "192.0.2.44"]);
  assertEquals(asked, ["disco.example"]);
});

Deno.test("discovery-service reports its service addresses through tunnelBypass", async () => {
  const plugin = createDiscoveryServicePlugin({
    resolveHost: () => Promise.resolve(["192.0.2.44"]),
  });
  const instance = plugin.create(context(config()), {});
  assertEquals(await instance.tunnelBypass.destinations(), [
    "10.99.0.1",
    "2001:db8::5",
    "192.0.2.44",
  ]);
  assertEquals(instance.tunnelBypass.replyPorts(), []);
});

Deno.test("discovery-server keeps its replies unmarked only while it serves", async () => {
  const idle = discoveryServerPlugin.create(context(config()), {});
  assertEquals(idle.tunnelBypass.replyPorts(), []);
  assertEquals(await idle.tunnelBypass.destinations(), []);
  const serving = discoveryServerPlugin.create(
    context(config({ listen: "10.99.0.1:3000" })),
    {},
  );
  assertEquals(serving.tunnelBypass.replyPorts(), [3000]);
});
