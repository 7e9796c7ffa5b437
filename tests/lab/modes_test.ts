import { assertEquals, assertThrows } from "../_tools/assert.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { KUBESPAN_PLUGINS, modeSettings, parseMode } from "./modes.ts";
import { renderBoxConfig } from "./box_config.ts";
import { planLab } from "./plan.ts";
import { scenarioById } from "./scenarios.ts";
import { validateConfig } from "../../core/config/validate.ts";
import { knownPlugins } from "../../core/plugins/registry.ts";
import { parse } from "yaml";

const BUILTINS = [
  { name: "endpoint-filter", discovery: false },
  { name: "endpoint-cycling", discovery: false },
  { name: "discovery-service", discovery: true },
  { name: "discovery-static", discovery: true },
  { name: "lan-preference", discovery: false },
];

Deno.test("modeSettings() kubespan: KubeSpan's plugins, tick and harvesting only", () => {
  assertEquals(modeSettings("kubespan", BUILTINS), {
    reconcileInterval: "30s",
    handshakePoll: false,
    harvestExtraEndpoints: false,
    plugins: {
      "endpoint-filter": true,
      "endpoint-cycling": true,
      "discovery-service": true,
      "discovery-static": false,
      "lan-preference": false,
    },
    pluginOptions: { "discovery-service": { helloInterval: 0 } },
  });
});

Deno.test("modeSettings() edgespan: every built-in plugin but other discovery sources", () => {
  assertEquals(modeSettings("edgespan", BUILTINS), {
    reconcileInterval: "1s",
    handshakePoll: true,
    harvestExtraEndpoints: true,
    plugins: {
      "endpoint-filter": true,
      "endpoint-cycling": true,
      "discovery-service": true,
      "discovery-static": false,
      "lan-preference": true,
    },
    pluginOptions: {},
  });
});

Deno.test("KUBESPAN_PLUGINS names built-in plugins only", () => {
  const names = BUILTIN_PLUGINS.map((p) => p.name);
  for (const n of KUBESPAN_PLUGINS) {
    assertEquals(names.includes(n), true, `${n} is a built-in plugin`);
  }
});

Deno.test("parseMode() rejects an unknown mode naming the valid ones", () => {
  assertEquals(parseMode("kubespan"), "kubespan");
  assertThrows(
    () => parseMode("tailscale"),
    RangeError,
    'Unknown mode "tailscale": choose one of kubespan, edgespan',
  );
});

Deno.test("both modes render box configs the agent accepts; kubespan says Hello once per connection, as Talos", () => {
  const box = planLab(scenarioById("2"), "0a1b2c3d").sites[0]!.boxes[0]!;
  const builtins = BUILTIN_PLUGINS.map((p) => ({
    name: p.name,
    discovery: p.hooks.includes("discovery"),
  }));
  const hello = (mode: "kubespan" | "edgespan") => {
    const text = renderBoxConfig({
      cluster: {
        id: "lab",
        secret: "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=",
      },
      discovery: "198.51.100.1:3000",
      box,
      dir: "/tmp/lab-box",
      mode: modeSettings(mode, builtins),
    });
    const result = validateConfig(parse(text), {
      plugins: knownPlugins(BUILTIN_PLUGINS),
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const sw = result.config.plugins["discovery-service"]!;
    assertEquals(sw.enabled, true);
    return sw.options["helloInterval"];
  };
  assertEquals(hello("kubespan"), 0);
  assertEquals(hello("edgespan"), undefined, "edgespan's default repeat");
});
