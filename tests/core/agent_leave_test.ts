import { Agent } from "../../core/agent.ts";
import { silentLogger } from "../../core/log/logger.ts";
import { definePlugin } from "../../core/plugins/types.ts";
import type { AffiliateSpec } from "../../core/resources/specs.ts";
import { assertEquals } from "../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";

/** A discovery plugin that records what the agent publishes and when it leaves. */
function recorder(events: string[], published: AffiliateSpec[]) {
  return definePlugin({
    name: "recording-discovery",
    hooks: ["discovery"],
    version: "1.0.0",
    description: "test",
    defaultEnabled: true,
    create: () => ({
      discovery: {
        publish: (local) => {
          events.push("publish");
          published.push(local);
          return Promise.resolve();
        },
        affiliates: () => [],
        publicAddresses: () => [],
        leave: () => {
          events.push("leave");
          return Promise.resolve();
        },
        health: () => ({ state: "connected" as const, detail: "" }),
      },
    }),
  });
}

async function startAgent(
  nodeYaml: string,
  events: string[],
  published: AffiliateSpec[],
) {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-agent-leave-" });
  await Deno.mkdir(`${dir}/sys/eth0/device`, { recursive: true });
  await Deno.writeTextFile(`${dir}/sys/eth0/type`, "1\n");
  await Deno.writeTextFile(`${dir}/sys/eth0/address`, "2e:1a:b6:53:81:69\n");
  const configPath = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    configPath,
    `cluster: {id: site-leave, secret: "${SECRET}"}\n` +
      `node: {stateDir: ${dir}/state, hostname: edge-a${nodeYaml}}\n` +
      `reconcile: {interval: 1h}\n`,
  );
  const agent = await Agent.start({
    configPath,
    plugins: [recorder(events, published)],
    log: silentLogger(),
    sysfsRoot: `${dir}/sys`,
    hostAddresses: { addresses: () => Promise.resolve([]) },
  });
  return {
    agent,
    async close() {
      await agent.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("Agent.leave() stops publishing first: later passes publish nothing", async () => {
  const events: string[] = [];
  const { agent, close } = await startAgent("", events, []);
  try {
    await agent.settle();
    assertEquals(events, ["publish"]);
    await agent.leave();
    agent.requestReconcile("after leave");
    await agent.settle();
    agent.requestReconcile("again");
    await agent.settle();
    assertEquals(events, ["publish", "leave"]);
  } finally {
    await close();
  }
});

Deno.test("Agent publishes node.machineType and, for control-plane machines, controlPlane", async () => {
  const published: AffiliateSpec[] = [];
  const worker = await startAgent("", [], published);
  try {
    await worker.agent.settle();
  } finally {
    await worker.close();
  }
  const cp = await startAgent(
    ", machineType: init, apiServerPort: 8443",
    [],
    published,
  );
  try {
    await cp.agent.settle();
  } finally {
    await cp.close();
  }
  assertEquals(
    published.map((a) => [a.machineType, a.controlPlane]),
    [["worker", undefined], ["init", { apiServerPort: 8443 }]],
  );
});
