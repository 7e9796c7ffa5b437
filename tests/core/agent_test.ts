import { Agent, type AgentOptions } from "../../core/agent.ts";
import { ConfigError } from "../../core/config/load.ts";
import { createLogger, silentLogger } from "../../core/log/logger.ts";
import {
  type AnyPluginDefinition,
  definePlugin,
} from "../../core/plugins/types.ts";
import type {
  AffiliateSpec,
  PluginStatusSpec,
  RelayPairSpec,
} from "../../core/resources/specs.ts";
import type { HostAddress } from "../../core/mesh/node_addresses.ts";
import {
  MeshPassError,
  type MeshPassInput,
  type MeshStep,
} from "../../core/mesh/types.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { discoveryHooks, REMOTE } from "../_tools/fake_discovery.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const CLUSTER_ID = "8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=";

function fakeDiscovery(published: AffiliateSpec[], left: string[] = []) {
  return definePlugin({
    name: "fake-discovery",
    hooks: ["discovery"],
    version: "1.0.0",
    description: "test",
    defaultEnabled: true,
    create: () => ({
      discovery: discoveryHooks({
        publish: (local) => {
          published.push(local);
          return Promise.resolve();
        },
        affiliates: () => [REMOTE],
        publicAddresses: () => ["203.0.113.7"],
        leave: () => {
          left.push("left");
          return Promise.resolve();
        },
      }),
    }),
  });
}

const exploding = definePlugin({
  name: "exploding-filter",
  hooks: ["endpointFilter"],
  version: "1.0.0",
  description: "always throws",
  defaultEnabled: false,
  create: () => ({
    endpointFilter: {
      advertised: () => {
        throw new Error("kaboom");
      },
      accepted: (e) => [...e],
    },
  }),
});

async function setup(extraYaml = "", options: { kubespan?: boolean } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-agent-" });
  await Deno.mkdir(`${dir}/sys/eth0/device`, { recursive: true });
  await Deno.writeTextFile(`${dir}/sys/eth0/type`, "1\n");
  await Deno.writeTextFile(`${dir}/sys/eth0/address`, "2e:1a:b6:53:81:69\n");
  const configPath = `${dir}/config.yaml`;
  const write = (more: string) =>
    Deno.writeTextFile(
      configPath,
      `cluster: {id: "${CLUSTER_ID}", secret: "${SECRET}"}\nnode: {stateDir: ${dir}/state, hostname: edge-a}\n` +
        `kubespan: {enabled: ${
          options.kubespan ?? true
        }, extraAnnouncedEndpoints: ["198.51.100.1:5000"]}\n` +
        `reconcile: {interval: 1h}\n${more}`,
    );
  await write(extraYaml);
  return { dir, configPath, write };
}

const UP = { operational: true, physical: true, carrier: true };

function hostAddr(
  address: string,
  link = "eth0",
  over: Partial<HostAddress> = {},
): HostAddress {
  return { address, link, scope: "global", linkState: UP, ...over };
}

const DEFAULT_HOST: HostAddress[] = [
  hostAddr("192.0.2.10/24"),
  hostAddr("fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/64", "kubespan", {
    linkState: { operational: true, physical: false, carrier: true },
  }),
];

/**
 * Starts an agent on `env`'s config (host addresses, sysfs and a silent log
 * faked unless `options` says otherwise), runs `body`, then stops the agent
 * and removes the folder whatever happened.
 */
async function withAgent(
  env: { dir: string; configPath: string },
  options: Partial<AgentOptions>,
  body: (agent: Agent) => Promise<void>,
): Promise<void> {
  const agent = await Agent.start({
    configPath: env.configPath,
    plugins: BUILTIN_PLUGINS,
    log: silentLogger(),
    sysfsRoot: `${env.dir}/sys`,
    hostAddresses: hostAddresses(DEFAULT_HOST),
    ...options,
  });
  try {
    await body(agent);
  } finally {
    await agent.stop();
    await Deno.remove(env.dir, { recursive: true });
  }
}

/** The built-in plugins plus `extra`, as the agent takes them. */
const withBuiltins = (...extra: AnyPluginDefinition[]) =>
  [...BUILTIN_PLUGINS, ...extra] as AnyPluginDefinition[];

/** Host addresses as the netlink reader would give them. */
const hostAddresses = (host: HostAddress[]) => ({
  addresses: () => Promise.resolve(host),
});

Deno.test("Agent publishes its affiliate and merges remote ones", async () => {
  const { dir, configPath } = await setup();
  const published: AffiliateSpec[] = [];
  await withAgent({ dir, configPath }, {
    plugins: withBuiltins(fakeDiscovery(published)),
  }, async (agent) => {
    await agent.settle();
    assertEquals(
      agent.identity.spec.address,
      "fd7f:175a:b97c:5602:2c1a:b6ff:fe53:8169/128",
    );
    const local = published.at(-1)!;
    assertEquals(local.hostname, "edge-a");
    assertEquals(local.kubespan?.endpoints, [
      "192.0.2.10:51820",
      "203.0.113.7:51820",
      "198.51.100.1:5000",
    ]);
    assertEquals(local.addresses, ["192.0.2.10"]);
    const ids = agent.store.list<AffiliateSpec>("affiliates").map((r) => r.id)
      .sort();
    assertEquals(ids, [agent.identity.nodeId, "remote-1"].sort());
    assertEquals(
      agent.store.get<AffiliateSpec>("affiliates", "remote-1")!.spec.sources,
      ["fake-discovery"],
    );
    assertEquals(agent.readiness().ready, true);
    const text = JSON.stringify(agent.store.list("identity")) +
      JSON.stringify(agent.store.list("config"));
    assertEquals(text.includes(SECRET), false);
    assertEquals(
      text.includes(
        agent.store.get<{ privateKey: string }>("identity", "local", {
          includeSensitive: true,
        })!.spec.privateKey,
      ),
      false,
    );
  });
});

Deno.test("Agent with kubespan disabled publishes its affiliate without a KubeSpan block", async () => {
  const { dir, configPath } = await setup("", { kubespan: false });
  const published: AffiliateSpec[] = [];
  await withAgent({ dir, configPath }, {
    plugins: withBuiltins(fakeDiscovery(published)),
  }, async (agent) => {
    await agent.settle();
    const local = published.at(-1)!;
    assertEquals(local.addresses, ["192.0.2.10"]);
    assertEquals(local.kubespan, undefined, JSON.stringify(local.kubespan));
    const stored = agent.store.get<AffiliateSpec>(
      "affiliates",
      agent.identity.nodeId,
    )!.spec;
    assertEquals(stored.kubespan, undefined);
  });
});

Deno.test("Agent publishes addresses of up links only, sorted, never pod networks", async () => {
  // advertiseKubernetesNetworks on: the pod CIDR is advertised as a network
  // but an address inside it is still no node address (as Talos' NoK8s filter).
  const { dir, configPath } = await setup(
    "advertise: {kubernetesNetworks: [10.244.0.0/16]}\n",
  );
  const patched = (await Deno.readTextFile(configPath)).replace(
    "kubespan: {enabled: true,",
    "kubespan: {enabled: true, advertiseKubernetesNetworks: true,",
  );
  await Deno.writeTextFile(configPath, patched);
  const published: AffiliateSpec[] = [];
  const noCarrier = { operational: true, physical: true, carrier: false };
  await withAgent({ dir, configPath }, {
    plugins: withBuiltins(fakeDiscovery(published)),
    hostAddresses: hostAddresses([
      hostAddr("192.0.2.10/24", "eth1"),
      hostAddr("2001:db8::10/64", "eth1"),
      hostAddr("10.0.0.5/24", "eth0"),
      hostAddr("198.51.100.9/24", "eth2", { linkState: noCarrier }),
      hostAddr("10.244.1.1/24", "cni0"),
      hostAddr("fe80::1/64", "eth0", { scope: "link" }),
      hostAddr("fd7f:175a:b97c:5603::9/64", "siderolink"),
    ]),
  }, async (agent) => {
    await agent.settle();
    const local = published.at(-1)!;
    assertEquals(local.addresses, ["10.0.0.5", "192.0.2.10", "2001:db8::10"]);
    assertEquals(local.kubespan?.endpoints, [
      "10.0.0.5:51820",
      "192.0.2.10:51820",
      "[2001:db8::10]:51820",
      "203.0.113.7:51820",
      "198.51.100.1:5000",
    ]);
    assertEquals(local.kubespan?.additionalAddresses, ["10.244.0.0/16"]);
  });
});

Deno.test("Agent survives a throwing plugin and reports it", async () => {
  const { dir, configPath } = await setup(
    "plugins: {exploding-filter: true}\n",
  );
  const published: AffiliateSpec[] = [];
  await withAgent({ dir, configPath }, {
    plugins: withBuiltins(exploding, fakeDiscovery(published)),
  }, async (agent) => {
    await agent.settle();
    assertEquals(agent.reconcileStats.errors, 0);
    assertEquals(published.length, 1, "the pass still published");
    const s =
      agent.store.get<PluginStatusSpec>("plugins", "exploding-filter")!.spec;
    assertEquals([s.state, s.lastError], [
      "failed",
      'Plugin "exploding-filter" failed in advertised: kaboom',
    ]);
  });
});

Deno.test("Agent reload applies a valid file and rejects an invalid one without change", async () => {
  const { dir, configPath, write } = await setup();
  await withAgent(
    { dir, configPath },
    { plugins: BUILTIN_PLUGINS },
    async (agent) => {
      await write("plugins: {endpoint-cycling: false}\n");
      await agent.reload();
      assertEquals(
        agent.store.get<PluginStatusSpec>("plugins", "endpoint-cycling")!.spec
          .state,
        "disabled",
      );
      await write("wireguard: {listenPort: 0}\n");
      const err = await assertRejects(() => agent.reload(), ConfigError);
      assertStringIncludes(
        err.message,
        "wireguard.listenPort: 0 is below the minimum 1",
      );
      assertEquals(
        agent.config.plugins["endpoint-cycling"]?.enabled,
        false,
        "the running config is kept",
      );
      await agent.setPluginEnabled("endpoint-cycling", true);
      assertEquals(
        agent.store.get<PluginStatusSpec>("plugins", "endpoint-cycling")!.spec
          .state,
        "running",
      );
      await assertRejects(
        () => agent.setPluginEnabled("endpoint-cycle", true),
        Error,
        'did you mean "endpoint-cycling"',
      );
    },
  );
});

Deno.test("edgespan run keeps its identity across restarts and stops cleanly on SIGTERM", async () => {
  // No kernel changes: this runs in the host namespace, not a test one.
  const { dir, configPath } = await setup("api: {listen: 127.0.0.1:0}\n", {
    kubespan: false,
  });
  const keys: string[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../../main.ts", import.meta.url).pathname,
          "run",
          "--config",
          configPath,
        ],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      let out = "";
      while (!out.includes("subnet")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      const key = /public key\s+(\S+)/.exec(out)?.[1];
      assert(key, `no public key in output: ${out}`);
      keys.push(key);
      child.kill("SIGTERM");
      reader.releaseLock();
      const status = await child.status;
      await child.stdout.cancel().catch(() => {});
      const err = new TextDecoder().decode(
        await new Response(child.stderr).arrayBuffer(),
      );
      assertEquals(status.code, 0, err);
      assertStringIncludes(err, '"msg":"agent stopped"');
    }
    assertEquals(keys[0], keys[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Agent.leave() asks every discovery plugin to delete the node", async () => {
  const { dir, configPath } = await setup();
  const left: string[] = [];
  await withAgent({ dir, configPath }, {
    plugins: withBuiltins(fakeDiscovery([], left)),
    startLoop: false,
  }, async (agent) => {
    assert((await agent.leave()).includes("fake-discovery"));
    assertEquals(left, ["left"]);
    assertEquals(agent.reconcileStats.runs, 0, "a one-shot agent runs no pass");
  });
});

async function portOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

async function waitPort(port: number, open: boolean): Promise<void> {
  const until = Date.now() + 5000;
  while (await portOpen(port) !== open) {
    if (Date.now() > until) throw new Error(`port ${port} stayed ${!open}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("the embedded discovery service is a plugin: listed, switchable, its replies never tunnelled", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const { dir, configPath } = await setup(
    `discovery: {endpoints: ["http://127.0.0.1:${port}"], serve: {listen: "127.0.0.1:${port}"}}\n`,
  );
  const inputs: MeshPassInput[] = [];
  const mesh: MeshStep = {
    pass(input) {
      inputs.push(input);
      return Promise.resolve({
        peerspecs: new Map(),
        peerstatuses: new Map(),
        endpoints: new Map(),
      });
    },
  };
  await withAgent({ dir, configPath }, { mesh }, async (agent) => {
    const status = () =>
      agent.store.get<PluginStatusSpec>("plugins", "discovery-server")!.spec;
    await waitPort(port, true);
    assertEquals([status().kind, status().state], ["tunnelBypass", "running"]);
    await agent.settle();
    const hooks = inputs.at(-1)!.hooks;
    assertEquals(hooks.tunnelBypass.replyPorts().flatMap((r) => r.value), [
      port,
    ]);
    assertEquals(
      (await hooks.tunnelBypass.destinations()).flatMap((r) => r.value),
      ["127.0.0.1"],
      "the discovery service's address is never routed",
    );
    await agent.setPluginEnabled("discovery-server", false);
    assertEquals(await portOpen(port), false);
    assertEquals(status().state, "disabled");
    assertEquals(hooks.tunnelBypass.replyPorts().flatMap((r) => r.value), []);
    await agent.setPluginEnabled("discovery-server", true);
    await waitPort(port, true);
  });
  assertEquals(await portOpen(port), false, "stopping the agent stops it");
});

Deno.test("a one-shot agent (as leave runs) never binds the embedded discovery service's port", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const { dir, configPath } = await setup(
    `discovery: {endpoints: ["http://127.0.0.1:${port}"], serve: {listen: "127.0.0.1:${port}"}}\n`,
  );
  await withAgent({ dir, configPath }, { startLoop: false }, async () => {
    // The supervisor would bind within milliseconds; give it ample time.
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(await portOpen(port), false);
  });
});

Deno.test("Agent stores what a failing mesh pass produced before it failed", async () => {
  const { dir, configPath } = await setup();
  const spec = {
    address: "fd00::2",
    label: "edge-b",
    endpoints: [],
    allowedIPs: ["fd00::2/128"],
  };
  const errors: unknown[] = [];
  const mesh: MeshStep = {
    pass() {
      return Promise.reject(
        new MeshPassError(
          { peerspecs: new Map([["KEY-b", spec]]) },
          new Error("link down"),
        ),
      );
    },
  };
  const log = silentLogger();
  await withAgent({ dir, configPath }, {
    log: {
      ...log,
      error: (message: string, fields?: Record<string, unknown>) =>
        void errors.push({ message, ...fields }),
    } as typeof log,
    mesh,
  }, async (agent) => {
    await agent.settle();
    assertEquals(agent.store.list("peerspecs").map((r) => r.id), ["KEY-b"]);
    assertEquals(agent.store.list("peerstatuses"), [], "left as they were");
    assertEquals(
      errors.map((e) => String((e as { error: unknown }).error)),
      ["Error: link down"],
      "the cause is logged, not the wrapper",
    );
  });
});

Deno.test("looking at the relay and discovery state (GET /metrics, /v1/status) writes no resource and logs nothing; the pass does", async () => {
  const { dir, configPath } = await setup("plugins: {peer-relay: false}\n");
  const pairs = new Map<string, RelayPairSpec>();
  let discovery: "connected" | "connecting" = "connected";
  const lines: string[] = [];
  const relayAndDiscovery = definePlugin({
    name: "fake-relay-discovery",
    hooks: ["discovery", "peerPath"],
    version: "1.0.0",
    description: "test",
    defaultEnabled: true,
    create: () => ({
      discovery: discoveryHooks({
        health: () => ({ state: discovery, detail: "fake" }),
      }),
      peerPath: {
        decide: () => undefined,
        offer: () => undefined,
        served: () => ({ pairs, refusals: {} }),
      },
    }),
  });
  await withAgent({ dir, configPath }, {
    plugins: withBuiltins(relayAndDiscovery),
    log: createLogger({ sink: (l) => lines.push(l) }),
  }, async (agent) => {
    await agent.settle();
    assertEquals(agent.store.list("relaypairs").length, 0);
    pairs.set("a|b", {
      labels: ["a", "b"],
      peers: ["A", "B"],
      ports: [40000, 40001],
      latched: ["", ""],
      bytes: [0, 0],
      packets: 0,
      dropped: 0,
      since: "2026-12-01T00:00:00Z",
    });
    discovery = "connecting";
    const before = lines.length;
    assertEquals(agent.relayServed()?.pairs.size, 1);
    assertEquals(
      agent.discoveryStatus().find((d) => d.name === "fake-relay-discovery")
        ?.state,
      "connecting",
    );
    assertEquals(agent.store.list("relaypairs").length, 0, "a look wrote");
    assertEquals(lines.slice(before), [], "a look logged");
    agent.requestReconcile("test");
    await agent.settle();
    assertEquals(agent.store.list("relaypairs").length, 1);
    assert(
      lines.slice(before).some((l) => l.includes("discovery connection lost")),
      lines.slice(before).join("\n"),
    );
  });
});
