/**
 * What a site plugin costs a reconcile: one mesh pass with 64 peers (fake
 * dataplane, every built-in plugin) with the built-in endpoint filter,
 * versus the same pass with the example allowlist filter
 * (`examples/plugins/endpoint_allowlist.ts`) loaded through the real loader
 * and sandbox in its place.
 *
 *   deno run -A tests/bench/plugin_bench.ts [--peers 64] [--passes 300]
 *
 * The two are interleaved in rounds. "pass" is the pass itself (the
 * synchronous hooks answer from the plugin's cached answers); "with
 * answers" also lets the worker's background answers arrive before the
 * next pass (one macrotask turn plus any wait for replies), so the host's
 * share of the round trips is counted. Prints, never fails on timing.
 */
import { parseArgs } from "node:util";
import { validateConfig } from "../../core/config/validate.ts";
import type { EdgespanConfig } from "../../core/config/types.ts";
import type { LocalIdentity } from "../../core/identity/identity.ts";
import type { WgKey } from "../../core/identity/keys.ts";
import { silentLogger } from "../../core/log/logger.ts";
import { createMeshStep } from "../../core/mesh/mesh_step.ts";
import { parsePrefix } from "../../core/netaddr/ip.ts";
import { knownPlugins, PluginRegistry } from "../../core/plugins/registry.ts";
import { siteEntries } from "../../core/plugins/site.ts";
import { RESOURCE_DEFINITIONS } from "../../core/resources/definitions.ts";
import type {
  AffiliateSpec,
  PeerStatusSpec,
} from "../../core/resources/specs.ts";
import { ResourceStore } from "../../core/resources/store.ts";
import { createSiteLoader } from "../../plugins/external/mod.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { FakeDataplane } from "../core/mesh/_fake_dataplane.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    peers: { type: "string", default: "64" },
    passes: { type: "string", default: "300" },
  },
});
const PEERS = Number(values.peers);
const PASSES = Number(values.passes);
const MODULE = new URL(
  "../../examples/plugins/endpoint_allowlist.ts",
  import.meta.url,
).pathname;
const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";

const IDENTITY: LocalIdentity = {
  spec: {
    address: "fd00:1:2:302::1/128",
    subnet: "fd00:1:2:302::/64",
    privateKey: "PRIVATE" as WgKey,
    publicKey: "LOCAL" as WgKey,
  },
  nodeId: "local",
  hardwareAddr: { link: "eth0", mac: new Uint8Array(6), physical: true },
  subnetPrefix: parsePrefix("fd00:1:2:302::/64"),
  addressPrefix: parsePrefix("fd00:1:2:302::1/128"),
};

function config(plugins: Record<string, unknown>): EdgespanConfig {
  const r = validateConfig({
    cluster: { id: "site", secret: SECRET },
    kubespan: { filters: { peerEndpoints: ["192.0.0.0/16"] } },
    plugins,
  }, { plugins: knownPlugins(BUILTIN_PLUGINS) });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

function remote(n: number): AffiliateSpec {
  const a = n >> 8, b = n & 255;
  return {
    nodeId: `n${n}`,
    hostname: `edge-${n}`,
    nodename: `edge-${n}`,
    machineType: "worker",
    operatingSystem: "",
    addresses: [`192.0.${a + 2}.${b}`],
    kubespan: {
      publicKey: btoa(`peer-${n}`.padEnd(32, "x")),
      address: `fd00:1:2:302::${(n + 2).toString(16)}`,
      additionalAddresses: [`10.${a}.${b}.0/24`],
      endpoints: [`192.0.${a + 2}.${b}:51820`, `203.0.113.${b}:51820`],
      excludeAdvertisedNetworks: [],
    },
    sources: ["bench"],
  };
}

async function harness(cfg: EdgespanConfig, configPath: string) {
  const store = new ResourceStore(RESOURCE_DEFINITIONS);
  const registry = new PluginRegistry(BUILTIN_PLUGINS, {
    store,
    log: silentLogger(),
  });
  const loaded = await createSiteLoader().load(siteEntries(cfg), {
    config: cfg,
    configPath,
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  await registry.setSitePlugins(loaded.definitions);
  await registry.apply(cfg, IDENTITY);
  const step = createMeshStep(new FakeDataplane());
  const affiliates = Array.from({ length: PEERS }, (_, i) => remote(i + 1));
  let now = Date.parse("2026-01-01T00:00:00Z");
  const pass = async () => {
    const out = await step.pass({
      config: cfg,
      identity: IDENTITY,
      remote: affiliates,
      hooks: registry.hooks,
      previous: new Map(
        store.list<PeerStatusSpec>("peerstatuses").map((r) => [r.id, r.spec]),
      ),
      log: silentLogger(),
      now: now += 1000,
      localPrefixes: [],
    });
    store.replaceAll("peerspecs", out.peerspecs);
    store.replaceAll("peerstatuses", out.peerstatuses);
    return out;
  };
  return { pass, registry, store };
}

const turn = () => new Promise((r) => setTimeout(r, 0));

const dir = await Deno.makeTempDir({ prefix: "edgespan-plugin-bench-" });
try {
  const builtIn = await harness(config({}), `${dir}/config.yaml`);
  // The same allowlist both ways: KubeSpan's peerEndpoints filter in the
  // built-in plugin, the example's `allow` in the site plugin.
  const site = await harness(
    config({
      "endpoint-filter": false,
      allowlist: { module: MODULE, allow: ["192.0.0.0/16"] },
    }),
    `${dir}/config.yaml`,
  );
  // Warm up: the first passes fill the plugin's answers (and the JIT).
  for (let i = 0; i < 20; i++) {
    await builtIn.pass();
    await site.pass();
    await turn();
  }
  const endpoints = (h: typeof site) =>
    h.store.list<{ endpoints: string[] }>("peerspecs")[0]?.spec.endpoints;
  console.log(
    `peer endpoints after filtering: built-in ${
      JSON.stringify(endpoints(builtIn))
    }, site ${JSON.stringify(endpoints(site))}`,
  );
  const times: Record<"builtIn" | "site", [number, number]> = {
    builtIn: [0, 0],
    site: [0, 0],
  };
  for (let i = 0; i < PASSES; i++) {
    for (const [key, h] of [["builtIn", builtIn], ["site", site]] as const) {
      const t0 = performance.now();
      await h.pass();
      const t1 = performance.now();
      await turn();
      times[key][0] += t1 - t0;
      times[key][1] += performance.now() - t0;
    }
  }
  const ms = (v: number) => (v / PASSES).toFixed(3);
  console.log(
    `${PEERS} peers, ${PASSES} passes each (Deno ${Deno.version.deno})`,
  );
  console.log(`                    pass ms   with answers ms`);
  console.log(
    `built-in filter     ${ms(times.builtIn[0]).padStart(7)}   ${
      ms(times.builtIn[1]).padStart(7)
    }`,
  );
  console.log(
    `site filter (worker)${ms(times.site[0]).padStart(7)}   ${
      ms(times.site[1]).padStart(7)
    }`,
  );
  console.log(
    `ratio site/built-in ${
      (times.site[0] / times.builtIn[0]).toFixed(2).padStart(7)
    }   ${(times.site[1] / times.builtIn[1]).toFixed(2).padStart(7)}`,
  );
  const calls = site.registry.callStats().find((s) => s.name === "allowlist");
  console.log(
    `allowlist: ${calls?.calls} hook calls, ${calls?.errors} errors, ${
      calls?.seconds.toFixed(3)
    } s in its hooks`,
  );
  await builtIn.registry.stopAll();
  await site.registry.stopAll();
} finally {
  await Deno.remove(dir, { recursive: true });
}
