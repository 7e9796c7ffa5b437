/**
 * A fake agent for the API tests: a real ResourceStore filled with
 * realistic resources (identity with a real key pair, config with a cluster
 * secret, peers in every state) and recorded calls for the mutating routes.
 *
 * Run it directly to get a demo API with moving peers:
 * `deno run -A tests/web/_fake_agent.ts [port]`.
 *
 * @module
 */
import { UnknownPluginError } from "../../core/agent.ts";
import { ConfigError } from "../../core/config/load.ts";
import { validateConfig } from "../../core/config/validate.ts";
import { generatePrivateKey, publicKeyOf } from "../../core/identity/keys.ts";
import { RESOURCE_DEFINITIONS } from "../../core/resources/definitions.ts";
import type {
  AffiliateSpec,
  EndpointSpec,
  PeerSpecSpec,
  PeerState,
  PeerStatusSpec,
  PluginStatusSpec,
} from "../../core/resources/specs.ts";
import { ResourceStore } from "../../core/resources/store.ts";
import type {
  ApiDeps,
  ApiReadiness,
  MetricsSnapshot,
} from "../../web/types.ts";

/** The fake and the secrets a test must never see in a response. */
export interface FakeAgent {
  deps: ApiDeps;
  store: ResourceStore;
  /** Values that must never be served. */
  secrets: { privateKey: string; clusterSecret: string; token: string };
  /** Public keys of the peers, in creation order. */
  peers: string[];
  calls: { reload: number; plugins: { name: string; enabled: boolean }[] };
  /** Makes the next reload fail with a config error. */
  failNextReload: boolean;
  metrics: MetricsSnapshot;
  readiness: ApiReadiness;
}

/** Options for {@linkcode fakeAgent}. */
export interface FakeAgentOptions {
  /** Number of peers. @default 4 */
  peers?: number;
  /** Clock. @default Date.now */
  now?: () => number;
}

const STATES: PeerState[] = ["up", "up", "down", "unknown"];
const PLUGINS = ["discovery-service", "static-peers", "endpoint-filter"];

/** Builds a fake agent with a populated store. */
export function fakeAgent(options: FakeAgentOptions = {}): FakeAgent {
  const now = options.now ?? Date.now;
  const store = new ResourceStore(RESOURCE_DEFINITIONS, now);
  const privateKey = generatePrivateKey();
  const publicKey = publicKeyOf(privateKey);
  const clusterSecret = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))),
  );
  const token = "ab".repeat(32);
  store.set("identity", "local", {
    address: "fd7a:1c3e:88b0:5e02:8c13:71ff:feaf:7c94/128",
    subnet: "fd7a:1c3e:88b0:5e02::/64",
    privateKey,
    publicKey,
  });
  const validated = validateConfig({
    cluster: { id: "site-7", secret: clusterSecret },
    discovery: { endpoints: ["http://127.0.0.1:3000"] },
    node: { stateDir: "/tmp/edgespan-fake" },
  });
  if (!validated.ok) {
    throw new Error(
      `fake config is invalid: ${JSON.stringify(validated.problems)}`,
    );
  }
  store.set("config", "kubespan", validated.config);

  const peers: string[] = [];
  const count = options.peers ?? 4;
  for (let i = 0; i < count; i++) {
    // Keys with "/" and "+" exercise id encoding in URLs.
    let key = publicKeyOf(generatePrivateKey());
    while (i === 0 && !key.includes("/")) {
      key = publicKeyOf(generatePrivateKey());
    }
    peers.push(key);
    const state = STATES[i % STATES.length]!;
    const label = `edge-${String(i + 1).padStart(2, "0")}`;
    const endpoint = `192.0.2.${10 + i}:51820`;
    const nodeId = `node${i + 1}`.padEnd(43, "x");
    store.set<AffiliateSpec>("affiliates", nodeId, {
      nodeId,
      hostname: label,
      nodename: label,
      machineType: "edge",
      operatingSystem: "edgespan (0.1.0)",
      addresses: [`192.0.2.${10 + i}`],
      kubespan: {
        publicKey: key,
        address: `fd7a:1c3e:88b0:5e02::${i + 1}`,
        additionalAddresses: [`10.${i + 1}.0.0/24`],
        endpoints: [endpoint],
        excludeAdvertisedNetworks: [],
      },
      sources: ["discovery-service"],
    });
    store.set<PeerSpecSpec>("peerspecs", key, {
      address: `fd7a:1c3e:88b0:5e02::${i + 1}`,
      allowedIPs: [`10.${i + 1}.0.0/24`, `fd7a:1c3e:88b0:5e02::${i + 1}/128`],
      endpoints: [endpoint],
      label,
    });
    const handshake = state === "up"
      ? new Date(now() - (20 + i) * 1000).toISOString()
      : state === "down"
      ? new Date(now() - 600_000).toISOString()
      : "";
    store.set<PeerStatusSpec>("peerstatuses", key, {
      endpoint,
      label,
      state,
      receiveBytes: state === "up" ? 130_044 * (i + 1) : 0,
      transmitBytes: state === "up" ? 46_556 * (i + 1) : 1_480,
      lastHandshakeTime: handshake,
      lastUsedEndpoint: endpoint,
      lastEndpointChange: new Date(now() - 3_600_000).toISOString(),
    });
    if (state === "up") {
      store.set<EndpointSpec>("endpoints", key, {
        affiliateID: nodeId,
        endpoint,
      });
    }
  }
  for (const name of PLUGINS) {
    store.set<PluginStatusSpec>("plugins", name, {
      name,
      kind: name.startsWith("endpoint") ? "endpointFilter" : "discovery",
      version: "0.1.0",
      description: `the ${name} plugin`,
      enabled: name !== "endpoint-filter",
      state: name === "endpoint-filter" ? "disabled" : "running",
      errors: 0,
      lastError: "",
      lastErrorTime: "",
    });
  }

  const fake: FakeAgent = {
    store,
    secrets: { privateKey, clusterSecret, token },
    peers,
    calls: { reload: 0, plugins: [] },
    failNextReload: false,
    metrics: {
      reconcile: { runs: 12, errors: 1, lastDurationMs: 8.5 },
      discovery: [{
        name: "discovery-service",
        state: "connected",
        latencyMs: 12,
      }],
    },
    readiness: {
      ready: true,
      checks: {
        config: { ok: true, detail: "/etc/edgespan/config.yaml" },
        discovery: { ok: true, detail: "discovery-service: connected" },
      },
    },
    deps: undefined as unknown as ApiDeps,
  };
  fake.deps = {
    store,
    token,
    version: "0.1.0-test",
    now,
    readiness: () => fake.readiness,
    metrics: () => fake.metrics,
    reload: () => {
      fake.calls.reload++;
      if (fake.failNextReload) {
        fake.failNextReload = false;
        return Promise.reject(
          new ConfigError("config.yaml", [
            { path: "kubespan.mtu", message: "1200 is below the minimum 1280" },
          ]),
        );
      }
      return Promise.resolve();
    },
    setPluginEnabled: (name, enabled) => {
      const current = store.get<PluginStatusSpec>("plugins", name);
      if (!current) {
        return Promise.reject(new UnknownPluginError(name, PLUGINS));
      }
      fake.calls.plugins.push({ name, enabled });
      store.set<PluginStatusSpec>("plugins", name, {
        ...current.spec,
        enabled,
        state: enabled ? "running" : "disabled",
      });
      return Promise.resolve();
    },
  };
  return fake;
}

/** Moves the counters of every up peer, as a reconcile pass would. */
export function tickPeers(fake: FakeAgent, now = Date.now()): void {
  for (const r of fake.store.list<PeerStatusSpec>("peerstatuses")) {
    if (r.spec.state !== "up") continue;
    fake.store.set<PeerStatusSpec>("peerstatuses", r.id, {
      ...r.spec,
      receiveBytes: r.spec.receiveBytes + 1500,
      transmitBytes: r.spec.transmitBytes + 700,
      lastHandshakeTime: new Date(now - 5000).toISOString(),
    });
  }
}

if (import.meta.main) {
  const { serveApi } = await import("../../web/serve.ts");
  const fake = fakeAgent({ peers: Number(Deno.args[1] ?? 6) });
  const server = await serveApi(fake.deps, {
    listen: `127.0.0.1:${Deno.args[0] ?? "7443"}`,
  });
  console.log(`fake agent API on ${server.url}`);
  setInterval(() => tickPeers(fake), 2000);
}
