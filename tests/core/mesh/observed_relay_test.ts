import { observedEndpoints } from "../../../core/mesh/kernel_state.ts";
import { assertEquals } from "../../_tools/assert.ts";

Deno.test("observedEndpoints() never reports a relayed peer's relay leg as its mapping", () => {
  const out = observedEndpoints(
    new Map([
      ["K1", { state: "up", endpoint: "198.51.100.12:40404", path: "direct" }],
      ["K2", { state: "up", endpoint: "203.0.113.50:51900", path: "relay:r" }],
      ["K3", { state: "up", endpoint: "198.51.100.13:51820" }],
    ]),
    (k) => `node-${k}`,
  );
  assertEquals([...out.keys()], ["K1", "K3"]);
});
