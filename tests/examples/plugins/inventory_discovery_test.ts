/**
 * The inventory discovery example, run through the real loader and
 * sandbox: its boxes become the agent's affiliates, a changed inventory
 * reaches the agent by itself, and without the read grant it cannot read.
 */
import type { AffiliateSpec } from "../../../core/resources/specs.ts";
import { assertEquals, assertStringIncludes } from "../../_tools/assert.ts";
import {
  siteEnv,
  startAgent,
  status,
  waitFor,
} from "../../plugins/external/_fixture.ts";

const MODULE = new URL(
  "../../../examples/plugins/inventory_discovery.ts",
  import.meta.url,
).pathname;

function box(n: number) {
  return {
    nodeId: `box-${n}`,
    hostname: `edge-${n}`,
    publicKey: btoa(String.fromCharCode(n).repeat(32)),
    address: `fd7f:175a:b97c:5602::${n}`,
    endpoints: [`192.0.2.${n}:51820`],
    networks: [`10.${n}.0.0/16`],
  };
}

Deno.test("inventory discovery example: boxes from the file become affiliates, changes arrive by themselves", async () => {
  const env = await siteEnv();
  const inventory = `${env.dir}/inventory.json`;
  try {
    await Deno.writeTextFile(inventory, JSON.stringify([box(1), box(2)]));
    await env.writeConfig(
      `  inventory: { module: ${MODULE}, file: ${inventory}, refresh: 100, permissions: { read: ["${inventory}"] } }`,
    );
    const agent = await startAgent(env, { startLoop: true });
    const hostnames = () =>
      agent.store.list<AffiliateSpec>("affiliates")
        .filter((a) => a.spec.sources.includes("inventory"))
        .map((a) => a.spec.hostname).sort();
    try {
      assertEquals(status(agent, "inventory").state, "running");
      await waitFor("two boxes", () => hostnames().length === 2 || undefined);
      assertEquals(hostnames(), ["edge-1", "edge-2"]);
      const one = agent.store.get<AffiliateSpec>("affiliates", "box-1")!;
      assertEquals(one.spec.kubespan?.endpoints, ["192.0.2.1:51820"]);
      assertEquals(one.spec.kubespan?.additionalAddresses, ["10.1.0.0/16"]);

      await Deno.writeTextFile(
        inventory,
        JSON.stringify([box(1), box(2), box(3)]),
      );
      await waitFor(
        "the third box",
        () => hostnames().length === 3 || undefined,
      );
      assertEquals(
        agent.discoveryHealth().find((h) => h.name === "inventory")?.value,
        { state: "static", detail: `3 boxes in ${inventory}` },
      );
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("inventory discovery example without the read grant cannot read the file", async () => {
  const env = await siteEnv();
  const inventory = `${env.dir}/inventory.json`;
  try {
    await Deno.writeTextFile(inventory, JSON.stringify([box(1)]));
    await env.writeConfig(
      `  inventory: { module: ${MODULE}, file: ${inventory} }`,
    );
    const agent = await startAgent(env);
    try {
      const health = await waitFor(
        "health",
        () =>
          agent.discoveryHealth().find((h) => h.name === "inventory")?.value,
      );
      assertEquals(health.state, "cached");
      assertStringIncludes(health.detail, "Requires read access");
      const peers = await waitFor(
        "the affiliates answer",
        () =>
          agent.registry.hooks.discovery.affiliates()
            .find((a) => a.name === "inventory")?.value,
      );
      assertEquals(peers, []);
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("inventory discovery example: parseInventory maps a box and names a bad entry", async () => {
  const { parseInventory } = await import(
    "../../../examples/plugins/inventory_discovery.ts"
  );
  const [a] = parseInventory(JSON.stringify([box(7)]));
  assertEquals(a?.addresses, ["192.0.2.7"]);
  assertEquals(a?.kubespan?.address, "fd7f:175a:b97c:5602::7");
  let message = "";
  try {
    parseInventory('[{"nodeId":"x"}]');
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(message, "inventory entry [0].hostname is missing");
});
