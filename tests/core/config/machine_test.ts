import { parse } from "yaml";
import { validateConfig } from "../../../core/config/validate.ts";
import { renderStarterConfig } from "../../../core/config/starter.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";

function machine(node: Record<string, unknown>) {
  const r = validateConfig({
    cluster: { id: "site-a", secret: SECRET },
    node: { stateDir: "/var/lib/edgespan", ...node },
  });
  if (!r.ok) return r.problems.map((p) => `${p.path}: ${p.message}`);
  const { machineType, controlPlane, apiServerPort } = r.config.node;
  return { machineType, controlPlane, apiServerPort };
}

Deno.test("validateConfig() node machine fields: defaults and how each follows the other", () => {
  const cases: [Record<string, unknown>, unknown][] = [
    [{}, { machineType: "worker", controlPlane: false, apiServerPort: 6443 }],
    [{ controlPlane: true }, {
      machineType: "controlplane",
      controlPlane: true,
      apiServerPort: 6443,
    }],
    [{ machineType: "init", apiServerPort: 443 }, {
      machineType: "init",
      controlPlane: true,
      apiServerPort: 443,
    }],
    [{ machineType: "controlplane", controlPlane: false }, {
      machineType: "controlplane",
      controlPlane: false,
      apiServerPort: 6443,
    }],
    [{ machineType: "worker", controlPlane: false }, {
      machineType: "worker",
      controlPlane: false,
      apiServerPort: 6443,
    }],
  ];
  for (const [node, want] of cases) {
    assertEquals(machine(node), want, JSON.stringify(node));
  }
});

Deno.test("validateConfig() rejects machine fields Talos would not accept", () => {
  assertEquals(machine({ machineType: "worker", controlPlane: true }), [
    'node.controlPlane: true needs node.machineType "controlplane" or "init" (it is "worker"); Talos publishes control-plane data only for those',
  ]);
  assertEquals(machine({ machineType: "edge" }), [
    'node.machineType: "edge" is not one of "worker", "controlplane", "init"',
  ]);
  assertEquals(machine({ controlPlane: "yes" }), [
    'node.controlPlane: expected true or false, got "yes"',
  ]);
  assertEquals(machine({ apiServerPort: 0 }), [
    "node.apiServerPort: 0 is below the minimum 1",
  ]);
});

Deno.test("renderStarterConfig() documents the machine fields and stays valid", () => {
  const text = renderStarterConfig();
  for (const key of ["machineType", "controlPlane", "apiServerPort"]) {
    assert(text.includes(`# ${key}: `), `starter lacks ${key}`);
  }
  const r = validateConfig(parse(text));
  assert(r.ok);
  assertEquals(r.config.node.machineType, "worker");
  // Uncommenting the example lines gives a valid config too.
  const uncommented = text.replace(
    /# (machineType|controlPlane|apiServerPort): /g,
    "$1: ",
  );
  assert(validateConfig(parse(uncommented)).ok);
});
