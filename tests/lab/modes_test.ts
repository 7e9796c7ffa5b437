import { assertEquals, assertThrows } from "../_tools/assert.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { KUBESPAN_PLUGINS, modeSettings, parseMode } from "./modes.ts";

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
    harvestExtraEndpoints: false,
    plugins: {
      "endpoint-filter": true,
      "endpoint-cycling": true,
      "discovery-service": true,
      "discovery-static": false,
      "lan-preference": false,
    },
  });
});

Deno.test("modeSettings() edgespan: every built-in plugin but other discovery sources", () => {
  assertEquals(modeSettings("edgespan", BUILTINS), {
    reconcileInterval: "1s",
    harvestExtraEndpoints: true,
    plugins: {
      "endpoint-filter": true,
      "endpoint-cycling": true,
      "discovery-service": true,
      "discovery-static": false,
      "lan-preference": true,
    },
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
