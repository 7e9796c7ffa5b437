/**
 * The sandbox denies what a site plugin was not granted, and a plugin that
 * throws, spins or exits is marked failed while the agent goes on: each
 * through the real loader, worker and registry.
 */
import { ConfigError } from "../../../core/config/load.ts";
import { IDENTITY_FILE } from "../../../core/identity/store.ts";
import type { PeerView } from "../../../core/plugins/types.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../_tools/assert.ts";
import { SECRET, siteEnv, startAgent, status, waitFor } from "./_fixture.ts";

/** A plugin file whose routeAdvertisement.advertise runs `body` (`options` in scope). */
function advertising(body: string): string {
  return `export default {
  apiVersion: 1, version: "1.0.0", description: "test", hooks: ["routeAdvertisement"],
  parseOptions: (raw) => ({ ok: true, options: raw }),
  create(ctx, options) {
    return { routeAdvertisement: { advertise() { ${body} } } };
  },
};\n`;
}

function siteAnswer(
  agent: Awaited<ReturnType<typeof startAgent>>,
  name: string,
): unknown {
  return agent.registry.hooks.routeAdvertisement.advertise()
    .find((a) => a.name === name)?.value;
}

/** Calls advertise until the plugin answers or fails. */
function settle(agent: Awaited<ReturnType<typeof startAgent>>, name: string) {
  return waitFor(`${name} to answer or fail`, () => {
    const v = siteAnswer(agent, name);
    if (v !== undefined) return { value: v };
    const s = status(agent, name);
    return s.state === "failed" ? { failed: s.lastError } : undefined;
  });
}

Deno.test("site plugin cannot read the identity file it was not granted", async () => {
  const env = await siteEnv();
  try {
    await Deno.writeTextFile(`${env.dir}/allowed.json`, '["10.1.0.0/16"]');
    const file = await env.writePlugin(
      "reader.js",
      advertising(
        `const ok = JSON.parse(Deno.readTextFileSync(options.allowed));
         return [...ok, Deno.readTextFileSync(options.identity)];`,
      ),
    );
    await env.writeConfig(
      `  reader: { module: ${file}, allowed: ${env.dir}/allowed.json, identity: ${env.dir}/state/${IDENTITY_FILE}, permissions: { read: ["${env.dir}/allowed.json"] } }`,
    );
    const agent = await startAgent(env);
    try {
      const got = await settle(agent, "reader");
      assertEquals(got.value, undefined, "the identity was read");
      assertStringIncludes(String(got.failed), "NotCapable");
      assertStringIncludes(String(got.failed), "Requires read access");
      assertStringIncludes(String(got.failed), IDENTITY_FILE);
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("site plugin reads a granted file but cannot open a socket it was not granted", async () => {
  const env = await siteEnv();
  const granted = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accept = (async () => {
    for await (const c of granted) c.close();
  })();
  try {
    const file = await env.writePlugin(
      "net.js",
      `export default {
  apiVersion: 1, version: "1.0.0", description: "net", hooks: ["tunnelBypass"],
  parseOptions: (raw) => ({ ok: true, options: raw }),
  create(ctx, options) {
    return { tunnelBypass: {
      async destinations() {
        const out = [];
        for (const port of options.ports) {
          try { (await Deno.connect({ hostname: "127.0.0.1", port })).close(); out.push(port + ": connected"); }
          catch (e) { out.push(port + ": " + e.name); }
        }
        return out;
      },
      replyPorts: () => [],
    } };
  },
};\n`,
    );
    const g = (granted.addr as Deno.NetAddr).port;
    const o = (other.addr as Deno.NetAddr).port;
    await env.writeConfig(
      `  net: { module: ${file}, ports: [${g}, ${o}], permissions: { net: ["127.0.0.1:${g}"] } }`,
    );
    const agent = await startAgent(env);
    try {
      const answers = await agent.registry.hooks.tunnelBypass.destinations();
      assertEquals(answers.find((a) => a.name === "net")?.value, [
        `${g}: connected`,
        `${o}: NotCapable`,
      ]);
    } finally {
      await agent.stop();
    }
  } finally {
    granted.close();
    other.close();
    await accept.catch(() => {});
    await env.remove();
  }
});

Deno.test("site plugin that spins forever is terminated after the deadline; the agent goes on", async () => {
  const env = await siteEnv();
  try {
    const file = await env.writePlugin("spin.js", advertising("for (;;) {}"));
    const good = await env.writePlugin(
      "good.js",
      advertising('return ["10.2.0.0/16"];'),
    );
    await env.writeConfig(
      `  spin: { module: ${file} }\n  good: { module: ${good} }`,
    );
    const agent = await startAgent(env);
    try {
      const started = Date.now();
      const got = await settle(agent, "spin");
      assertStringIncludes(
        String(got.failed),
        "routeAdvertisement.advertise did not answer within 300 ms",
      );
      assert(Date.now() - started < 2000, "terminated late");
      // The other site plugin and the built-ins keep answering.
      assertEquals(await settle(agent, "good"), { value: ["10.2.0.0/16"] });
      assertEquals(siteAnswer(agent, "route-advertisement"), []);
      assertEquals(status(agent, "spin").state, "failed");
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("site plugin that throws is failed with its error; one that exits is failed too", async () => {
  const env = await siteEnv();
  try {
    const boom = await env.writePlugin(
      "boom.js",
      advertising('throw new Error("inventory unreachable");'),
    );
    const exits = await env.writePlugin(
      "exits.js",
      advertising("self.close();"),
    );
    await env.writeConfig(
      `  boom: { module: ${boom} }\n  exits: { module: ${exits} }`,
    );
    const agent = await startAgent(env);
    try {
      const got = await settle(agent, "boom");
      assertStringIncludes(String(got.failed), "inventory unreachable");
      assertEquals(status(agent, "boom").state, "failed");
      const gone = await settle(agent, "exits");
      assertStringIncludes(String(gone.failed), "did not answer within 300 ms");
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("site plugin sees a redacted context: no cluster secret, no private key, no environment", async () => {
  const env = await siteEnv();
  try {
    const file = await env.writePlugin(
      "peek.js",
      advertising(
        `let envRead = "read";
         try { Deno.env.get("HOME"); } catch (e) { envRead = e.name; }
         return [JSON.stringify({ cluster: ctx.config.cluster, identity: ctx.identity, envRead })];`,
      ),
    );
    await env.writeConfig(`  peek: { module: ${file} }`);
    const agent = await startAgent(env);
    try {
      const got = await settle(agent, "peek");
      const [text] = got.value as string[];
      const seen = JSON.parse(text!);
      assertEquals(seen.cluster.secret, "(redacted)");
      assertEquals(seen.envRead, "NotCapable");
      assertEquals(
        Object.keys(seen.identity).sort(),
        ["address", "nodeId", "publicKey", "subnet"],
      );
      assert(!text!.includes(SECRET), "the secret reached the plugin");
      assert(!text!.includes(agent.identity.spec.privateKey), "the key leaked");
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("site bypass plugin that fails or has no answer yet fails closed (every peer forced)", async () => {
  const env = await siteEnv();
  try {
    const file = await env.writePlugin(
      "bypass.js",
      `export default {
  apiVersion: 1, version: "1.0.0", description: "bypass", hooks: ["downPeerBypass"],
  create() { return { downPeerBypass: { forcedPeers() { throw new Error("no"); } } }; },
};\n`,
    );
    await env.writeConfig(
      `  down-peer-bypass: false\n  bypass: { module: ${file} }`,
    );
    const agent = await startAgent(env);
    try {
      const views: PeerView[] = [{
        publicKey: "k1",
        spec: {
          address: "fd00::1",
          allowedIPs: ["fd00::1/128"],
          endpoints: [],
          label: "b",
        },
        status: undefined,
      }];
      // No answer yet, then the plugin's error: both times `undefined`,
      // which the mesh step reads as "force every peer".
      assertEquals(
        agent.registry.hooks.downPeerBypass.forcedPeers(views),
        undefined,
      );
      await waitFor("bypass to fail", () => {
        agent.registry.hooks.downPeerBypass.forcedPeers(views);
        return status(agent, "bypass").state === "failed" ? true : undefined;
      });
      assertEquals(
        agent.registry.hooks.downPeerBypass.forcedPeers(views),
        undefined,
      );
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});

Deno.test("site plugin written for another API version is refused at start", async () => {
  const env = await siteEnv();
  try {
    const file = await env.writePlugin(
      "future.js",
      advertising("return [];").replace("apiVersion: 1", "apiVersion: 2"),
    );
    await env.writeConfig(`  future: { module: ${file} }`);
    const e = await assertRejects(() => startAgent(env), ConfigError);
    assertStringIncludes(
      e.message,
      "plugins.future.module: is written for plugin API version 2; this agent runs version 1",
    );
  } finally {
    await env.remove();
  }
});

Deno.test("site plugin whose start throws is failed at start; the agent starts anyway", async () => {
  const env = await siteEnv();
  try {
    const file = await env.writePlugin(
      "nostart.js",
      `export default { apiVersion: 1, version: "1", description: "x", hooks: ["routeAdvertisement"],
        create: () => ({ start() { throw new Error("inventory missing"); },
          routeAdvertisement: { advertise: () => [] } }) };\n`,
    );
    await env.writeConfig(`  nostart: { module: ${file} }`);
    const agent = await startAgent(env);
    try {
      const s = status(agent, "nostart");
      assertEquals(s.state, "failed");
      assertStringIncludes(s.lastError, 'Plugin "nostart" failed in start');
      assertStringIncludes(s.lastError, "inventory missing");
      assertEquals(siteAnswer(agent, "nostart"), undefined);
      assertEquals(status(agent, "route-advertisement").state, "running");
    } finally {
      await agent.stop();
    }
  } finally {
    await env.remove();
  }
});
