import { testPluginContext } from "../../_tools/plugin_context.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";
import { validateConfig } from "../../../core/config/validate.ts";
import type { LocalIdentity } from "../../../core/identity/identity.ts";
import { discoveryServicePlugin } from "../../../plugins/discovery_service/plugin.ts";
import { DiscoveryClient } from "../../../plugins/discovery_service/client.ts";
import {
  clusterKey,
  createClusterCipher,
} from "../../../plugins/discovery_service/crypto.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import {
  AffiliateSchema as WireAffiliateSchema,
  Cluster,
  type WatchResponse,
  WatchResponseSchema,
} from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import {
  encodeAffiliate,
  encodeEndpoint,
} from "../../../plugins/discovery_service/payload.ts";
import {
  AffiliateSchema,
  KubeSpanSchema,
} from "../../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import type { DiscoveryServer } from "../../../plugins/discovery_service/server/serve.ts";
import { KEY_B64, rawClient, startServer, waitFor } from "./_harness.ts";
import { affiliate, fastClient } from "./_affiliates.ts";

Deno.test("client: three clients converge, survive a server restart and re-publish", async () => {
  let srv = await startServer();
  const port = srv.port;
  const ac = new AbortController();
  const clients = [1, 2, 3].map((n) => fastClient(port, n));
  const runs = clients.map((c) => c.run(ac.signal));
  clients.forEach((c, i) => c.publish(affiliate(i + 1), []));
  const converged = () =>
    clients.every((c) =>
      c.affiliates().length === 2 &&
      c.affiliates().every((a) => a.kubespan?.endpoints.length === 1)
    );
  try {
    await waitFor(converged, 10_000, "first convergence");
    assertEquals(
      clients[0]!.affiliates().map((a) => a.nodeId).sort(),
      ["node-2", "node-3"],
    );
    assertEquals(clients[0]!.publicAddresses(), ["127.0.0.1"]);
    assertEquals(
      clients[1]!.affiliates().find((a) => a.nodeId === "node-1")?.kubespan
        ?.endpoints,
      [
        "192.168.0.1:51820",
      ],
    );
    await srv.close(); // state is lost: clients must re-publish
    await new Promise((r) => setTimeout(r, 200));
    srv = await startServer({ listen: `127.0.0.1:${port}` });
    await waitFor(
      () => srv.state.stats().affiliates === 3,
      15_000,
      "re-publish",
    );
    await waitFor(
      () => converged() && clients.every((c) => c.connected),
      15_000,
      "re-convergence",
    );
    // A change published now reaches the others.
    const changed = affiliate(1);
    changed.hostname = "renamed";
    clients[0]!.publish(changed, []);
    await waitFor(
      () => clients[1]!.affiliates().some((a) => a.hostname === "renamed"),
      5_000,
      "update fan-out",
    );
    // leave() removes node-1 everywhere.
    await clients[0]!.leave();
    await waitFor(
      () => clients[2]!.affiliates().length === 1,
      5_000,
      "delete fan-out",
    );
  } finally {
    ac.abort();
    await Promise.all(runs);
    await srv.close();
  }
});

Deno.test("client: skips affiliates sealed with another secret, warns once", async () => {
  const srv = await startServer();
  const ac = new AbortController();
  const warnings: string[] = [];
  const good = fastClient(srv.port, 1, { warn: (m) => warnings.push(m) });
  const other = fastClient(srv.port, 2, {
    secret: btoa(String.fromCharCode(...new Uint8Array(32).fill(1))),
  });
  const runs = [good.run(ac.signal), other.run(ac.signal)];
  try {
    good.publish(affiliate(1), []);
    other.publish(affiliate(2), []);
    await waitFor(
      () => srv.state.stats().affiliates === 2,
      5_000,
      "both published",
    );
    await waitFor(() => good.connected && other.connected, 5_000, "connected");
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(good.affiliates(), []);
    assertEquals(other.affiliates(), []);
    // A further undecryptable update within the minute does not warn again.
    const o2 = affiliate(2);
    o2.hostname = "again";
    other.publish(o2, []);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(warnings, [
      "discovery: skipped an affiliate that does not decrypt or decode",
    ]);
  } finally {
    ac.abort();
    await Promise.all(runs);
    await srv.close();
  }
});

Deno.test("client: follows a Hello redirect; harvests endpoints of others", async () => {
  const real = await startServer();
  const front = await startServer({
    redirectEndpoint: `127.0.0.1:${real.port}`,
  });
  const ac = new AbortController();
  const c = fastClient(front.port, 1, { harvest: true });
  const run = c.run(ac.signal);
  try {
    c.publish(affiliate(1), [{
      affiliateID: "node-9",
      endpoint: "203.0.113.9:51820",
    }]);
    await waitFor(
      () => real.state.stats().affiliates === 2,
      5_000,
      "publish via redirect",
    );
    assertEquals(front.state.stats().affiliates, 0);
    const list = await rawClient(real.port).list({ clusterId: "test-cluster" });
    const harvested = list.affiliates.find((a) => a.id === "node-9")!;
    assertEquals([harvested.data.length, harvested.endpoints.length], [0, 1]);
  } finally {
    ac.abort();
    await run;
    await real.close();
    await front.close();
  }
});

function graceClient(
  port: number,
  n: number,
  reconnectGraceMs: number,
  onChange: (reason: string) => void,
): DiscoveryClient {
  return new DiscoveryClient({
    url: `http://127.0.0.1:${port}`,
    clusterId: "test-cluster",
    nodeId: `node-${n}`,
    cipher: createClusterCipher(clusterKey(KEY_B64)),
    clientVersion: "test",
    source: "discovery-service",
    backoff: { initialMs: 50, multiplier: 1.5, jitter: 0.2, maxMs: 300 },
    reconnectGraceMs,
    onChange,
  });
}

/** Starts `client` with its own abort controller. */
function running(client: DiscoveryClient) {
  const ac = new AbortController();
  const run = client.run(ac.signal);
  return {
    client,
    async stop() {
      ac.abort();
      await run;
    },
  };
}

/** Replaces `srv` with a fresh, empty service on the same port. */
async function restartEmpty(srv: DiscoveryServer): Promise<DiscoveryServer> {
  await srv.close();
  return await startServer({ listen: `127.0.0.1:${srv.port}` });
}

const ids = (c: DiscoveryClient) => c.affiliates().map((a) => a.nodeId).sort();

Deno.test("client: after a reconnect to an empty service, keeps missing peers for the grace period; a delete removes one at once", async () => {
  let srv = await startServer();
  const port = srv.port;
  const a = running(graceClient(port, 1, 60_000, () => {}));
  const b = running(fastClient(port, 2));
  let c: ReturnType<typeof running> | undefined;
  try {
    a.client.publish(affiliate(1), []);
    b.client.publish(affiliate(2), []);
    await waitFor(() => ids(a.client).includes("node-2"), 5_000, "A sees B");
    const before = a.client.affiliates();
    await b.stop(); // B is slow: it will not re-publish
    srv = await restartEmpty(srv);
    // A newcomer published after the restart: once A sees it, A's new Watch
    // snapshot has been applied.
    c = running(fastClient(port, 3));
    c.client.publish(affiliate(3), []);
    await waitFor(
      () => ids(a.client).includes("node-3"),
      10_000,
      "A reconnected",
    );
    assertEquals(srv.state.stats().affiliates, 2, "A re-published");
    assertEquals(ids(a.client), ["node-2", "node-3"]);
    assertEquals(
      a.client.affiliates().find((x) => x.nodeId === "node-2"),
      before.find((x) => x.nodeId === "node-2"),
    );
    // Endpoints harvested for B by another node (no data) do not end the wait.
    const cipher = createClusterCipher(clusterKey(KEY_B64));
    const raw = rawClient(port);
    await raw.affiliateUpdate({
      clusterId: "test-cluster",
      affiliateId: "node-2",
      affiliateEndpoints: [
        cipher.sealEndpoint(encodeEndpoint("203.0.113.2:51820")),
      ],
      ttl: { seconds: 60n },
    });
    const renamed = affiliate(3);
    renamed.hostname = "marker";
    c.client.publish(renamed, []);
    await waitFor(
      () => a.client.affiliates().some((x) => x.hostname === "marker"),
      5_000,
      "marker",
    );
    assertEquals(ids(a.client), ["node-2", "node-3"]);
    // A real delete is not deferred.
    await raw.affiliateDelete({
      clusterId: "test-cluster",
      affiliateId: "node-2",
    });
    await waitFor(
      () => !ids(a.client).includes("node-2"),
      2_000,
      "delete of a peer in its grace period",
    );
    assertEquals(ids(a.client), ["node-3"]);
  } finally {
    await Promise.all([a.stop(), b.stop(), c?.stop()]);
    await srv.close();
  }
});

Deno.test("client: a peer that is not re-published within the grace period is dropped with a reconcile; one that is stays", async () => {
  let srv = await startServer();
  const port = srv.port;
  const reasons: string[] = [];
  const a = running(graceClient(port, 1, 300, (r) => reasons.push(r)));
  const b = running(fastClient(port, 2));
  let c = running(fastClient(port, 3));
  try {
    a.client.publish(affiliate(1), []);
    b.client.publish(affiliate(2), []);
    c.client.publish(affiliate(3), []);
    await waitFor(
      () => ids(a.client).length === 2,
      5_000,
      "A sees B and C",
    );
    await Promise.all([b.stop(), c.stop()]);
    srv = await restartEmpty(srv);
    const restarted = Date.now();
    c = running(fastClient(port, 3));
    const renamed = affiliate(3);
    renamed.hostname = "back";
    c.client.publish(renamed, []);
    await waitFor(
      () => reasons.includes("discovery reconnect grace ended"),
      5_000,
      "grace end",
    );
    assert(Date.now() - restarted >= 300, "dropped before the grace ended");
    assertEquals(ids(a.client), ["node-3"]);
    assertEquals(
      a.client.affiliates()[0]?.hostname,
      "back",
    );
    await new Promise((r) => setTimeout(r, 400));
    assertEquals(ids(a.client), ["node-3"], "a re-published peer stays");
    assertEquals(
      reasons.filter((r) => r === "discovery reconnect grace ended").length,
      1,
    );
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
    await srv.close();
  }
});

Deno.test("client: a view seeded from the peer cache survives an empty first snapshot for the grace period", async () => {
  const srv = await startServer();
  const reasons: string[] = [];
  const client = graceClient(srv.port, 1, 300, (r) => reasons.push(r));
  client.seed([affiliate(1), affiliate(2)]);
  assertEquals(ids(client), ["node-2"], "the seed skips this node itself");
  const a = running(client);
  try {
    await waitFor(() => client.connected, 5_000, "connected");
    assertEquals(ids(client), ["node-2"], "an empty first snapshot keeps it");
    await waitFor(
      () => reasons.includes("discovery reconnect grace ended"),
      5_000,
      "grace end",
    );
    assertEquals(ids(client), []);
  } finally {
    await a.stop();
    await srv.close();
  }
});

Deno.test("client: a pending grace period does not keep the process alive after abort", async () => {
  const url = (path: string) => new URL(path, import.meta.url).href;
  // The child ends while node-2 is waiting out a 10 min grace period.
  const code = `
    import { startServer, waitFor } from "${url("./_harness.ts")}";
    import { affiliate, fastClient } from "${url("./_affiliates.ts")}";
    import { DiscoveryClient } from "${
    url("../../../plugins/discovery_service/client.ts")
  }";
    import { clusterKey, createClusterCipher } from "${
    url("../../../plugins/discovery_service/crypto.ts")
  }";
    import { KEY_B64 } from "${url("./_harness.ts")}";
    let srv = await startServer();
    const port = srv.port;
    const a = new DiscoveryClient({
      url: "http://127.0.0.1:" + port, clusterId: "test-cluster",
      nodeId: "node-1", cipher: createClusterCipher(clusterKey(KEY_B64)),
      clientVersion: "test", source: "discovery-service",
      backoff: { initialMs: 50, multiplier: 1.5, jitter: 0.2, maxMs: 300 },
      reconnectGraceMs: 600_000,
    });
    const b = fastClient(port, 2);
    const ac = new AbortController(), bAc = new AbortController();
    const runs = [a.run(ac.signal), b.run(bAc.signal)];
    a.publish(affiliate(1), []);
    b.publish(affiliate(2), []);
    await waitFor(() => a.affiliates().length === 1, 5_000, "A sees B");
    bAc.abort();
    await srv.close();
    srv = await startServer({ listen: "127.0.0.1:" + port });
    const c = fastClient(port, 3);
    const cAc = new AbortController();
    runs.push(c.run(cAc.signal));
    c.publish(affiliate(3), []);
    await waitFor(() => a.affiliates().length === 2, 10_000, "A reconnected");
    ac.abort();
    cAc.abort();
    await Promise.all(runs);
    await srv.close();
    console.log("done");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  try {
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert(
      out.success && stdout.includes("done"),
      `child did not exit cleanly in time: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  } finally {
    clearTimeout(timer);
  }
});

/** Publishes raw affiliate data and endpoints for `id`, as any node could. */
function rawPut(
  port: number,
  id: string,
  data: Uint8Array,
  endpoints: Uint8Array[] = [],
) {
  return rawClient(port).affiliateUpdate({
    clusterId: "test-cluster",
    affiliateId: id,
    affiliateData: data,
    affiliateEndpoints: endpoints,
    ttl: { seconds: 60n },
  });
}

const CIPHER = createClusterCipher(clusterKey(KEY_B64));

Deno.test("client: a Watch update that does not decrypt or decode keeps the affiliate's last good state", async () => {
  const srv = await startServer();
  const warnings: string[] = [];
  const a = running(fastClient(srv.port, 1, { warn: (m) => warnings.push(m) }));
  try {
    await rawPut(
      srv.port,
      "node-2",
      CIPHER.sealData(encodeAffiliate(affiliate(2))),
      [CIPHER.sealEndpoint(encodeEndpoint("192.168.0.2:51820"))],
    );
    a.client.publish(affiliate(1), []);
    await waitFor(() => ids(a.client).includes("node-2"), 5_000, "A sees B");
    const good = a.client.affiliates().find((x) => x.nodeId === "node-2");
    // Ciphertext under another key, then a sealed payload that is no protobuf.
    await rawPut(srv.port, "node-2", new Uint8Array(48).fill(7));
    await rawPut(srv.port, "node-2", CIPHER.sealData(new Uint8Array([0xff])));
    // Updates arrive in order: once A sees node-3, both were applied.
    await rawPut(
      srv.port,
      "node-3",
      CIPHER.sealData(encodeAffiliate(affiliate(3))),
    );
    await waitFor(() => ids(a.client).includes("node-3"), 5_000, "marker");
    assertEquals(
      a.client.affiliates().find((x) => x.nodeId === "node-2"),
      good,
    );
    assertEquals(warnings, [
      "discovery: skipped an affiliate that does not decrypt or decode",
    ]);
    // A delete still removes it.
    await rawClient(srv.port).affiliateDelete({
      clusterId: "test-cluster",
      affiliateId: "node-2",
    });
    await waitFor(() => !ids(a.client).includes("node-2"), 5_000, "delete");
  } finally {
    await a.stop();
    await srv.close();
  }
});

Deno.test("client: a reconnect snapshot whose data does not decode keeps the last good state past the grace period", async () => {
  const wire = (data: Uint8Array): WatchResponse =>
    create(WatchResponseSchema, {
      affiliates: [create(WireAffiliateSchema, { id: "node-2", data })],
    });
  // Each Watch is one session; the first ends, so the client reconnects.
  const sessions: WatchResponse[][] = [
    [wire(CIPHER.sealData(encodeAffiliate(affiliate(2))))],
    [wire(new Uint8Array(48).fill(7))],
  ];
  let watches = 0;
  const transport = createRouterTransport(({ service }) => {
    service(Cluster, {
      hello: () => ({}),
      affiliateUpdate: () => ({}),
      affiliateDelete: () => ({}),
      list: () => ({}),
      async *watch(_req, ctx) {
        const replies = sessions[watches++] ?? [];
        for (const r of replies) yield r;
        if (watches >= sessions.length) {
          await new Promise((r) => ctx.signal.addEventListener("abort", r));
        }
      },
    });
  });
  const client = new DiscoveryClient({
    url: "http://127.0.0.1:1",
    clusterId: "test-cluster",
    nodeId: "node-1",
    cipher: CIPHER,
    clientVersion: "test",
    source: "discovery-service",
    backoff: { initialMs: 10, multiplier: 1, jitter: 0, maxMs: 10 },
    reconnectGraceMs: 50,
    transport: () => transport,
  });
  const a = running(client);
  try {
    await waitFor(() => watches === 2 && client.connected, 5_000, "2nd watch");
    await new Promise((r) => setTimeout(r, 200)); // well past the grace
    const want = { ...affiliate(2), sources: ["discovery-service"] };
    want.kubespan!.endpoints = []; // none were sent
    assertEquals(client.affiliates(), [want]);
  } finally {
    await a.stop();
  }
});

Deno.test("client: one malformed address or endpoint drops that item, not the affiliate", async () => {
  const srv = await startServer();
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  const a = running(
    fastClient(srv.port, 1, {
      warn: (message, fields) =>
        warnings.push(fields ? { message, fields } : { message }),
    }),
  );
  try {
    const spec = affiliate(2);
    const data = toBinary(
      AffiliateSchema,
      create(AffiliateSchema, {
        nodeId: "node-2",
        hostname: "h2",
        nodename: "h2",
        machineType: "worker",
        operatingSystem: "edgespan",
        addresses: [
          new Uint8Array([192, 168, 0, 2]),
          new Uint8Array([1, 2, 3, 4, 5]),
        ],
        kubespan: create(KubeSpanSchema, {
          publicKey: spec.kubespan!.publicKey,
          address: new Uint8Array([0xfd, ...new Uint8Array(14), 2]),
        }),
      }),
    );
    await rawPut(srv.port, "node-2", CIPHER.sealData(data), [
      CIPHER.sealEndpoint(encodeEndpoint("192.168.0.2:51820")),
      // An Endpoint with a 3-byte address, sealed correctly.
      CIPHER.sealEndpoint(new Uint8Array([0x0a, 3, 1, 2, 3, 0x10, 1])),
    ]);
    a.client.publish(affiliate(1), []);
    await waitFor(() => ids(a.client).includes("node-2"), 5_000, "A sees B");
    const got = a.client.affiliates()[0]!;
    assertEquals(got.addresses, ["192.168.0.2"]);
    assertEquals(got.kubespan?.address, "fd00::2");
    assertEquals(got.kubespan?.endpoints, ["192.168.0.2:51820"]);
    assertEquals(warnings.length, 1);
    assertEquals(
      warnings[0]!.message,
      "discovery: dropped parts of an affiliate that do not decode",
    );
    assertEquals(
      (warnings[0]!.fields?.items as string[]).map((i) => i.split(":")[0]),
      ["endpoints[1]", "addresses[1]"],
    );
  } finally {
    await a.stop();
    await srv.close();
  }
});

Deno.test("client: leave() while the loop runs is not undone by a later publish or a reconnect", async () => {
  let srv = await startServer();
  const port = srv.port;
  const a = running(fastClient(port, 1));
  const b = running(fastClient(port, 2));
  const listed = async () =>
    (await rawClient(port).list({ clusterId: "test-cluster" })).affiliates
      .map((x) => x.id).sort();
  try {
    a.client.publish(affiliate(1), []);
    b.client.publish(affiliate(2), []);
    await waitFor(() => ids(b.client).includes("node-1"), 5_000, "B sees A");
    await a.client.leave();
    await waitFor(() => !ids(b.client).includes("node-1"), 5_000, "delete");
    // A changed affiliate (not deduplicated) is not published any more.
    const changed = affiliate(1);
    changed.hostname = "again";
    a.client.publish(changed, []);
    await new Promise((r) => setTimeout(r, 500)); // several backoff rounds
    assertEquals(await listed(), ["node-2"]);
    // Nor after a reconnect: the service restarts empty, A says Hello again.
    srv = await restartEmpty(srv);
    const marker = affiliate(2);
    marker.hostname = "marker";
    b.client.publish(marker, []);
    await waitFor(
      () => a.client.affiliates().some((x) => x.hostname === "marker"),
      10_000,
      "A watching again",
    );
    assertEquals(await listed(), ["node-2"]);
    assertEquals(ids(b.client), []);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await srv.close();
  }
});

function context(port: number, stateDir: string, signal: AbortSignal) {
  const result = validateConfig({
    cluster: { id: "test-cluster", secret: KEY_B64 },
    discovery: { endpoints: [`http://127.0.0.1:${port}`] },
    node: { stateDir },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const reasons: string[] = [];
  const ctx = testPluginContext({
    pluginName: "discovery-service",
    config: result.config,
    identity: { nodeId: "node-1" } as LocalIdentity,
    signal,
    requestReconcile: (r) => reasons.push(r),
  });
  return { ctx, reasons };
}

Deno.test("plugin: caches the last view and serves it while the service is down", async () => {
  const dir = await Deno.makeTempDir();
  const srv = await startServer();
  const port = srv.port;
  const peer = fastClient(port, 2);
  const peerAc = new AbortController();
  const peerRun = peer.run(peerAc.signal);
  peer.publish(affiliate(2), []);
  try {
    const ac = new AbortController();
    const { ctx, reasons } = context(port, dir, ac.signal);
    const p = discoveryServicePlugin.create(ctx, {});
    await p.start!();
    await p.discovery.publish(affiliate(1), []);
    await waitFor(
      () => p.discovery.affiliates().length === 1,
      5_000,
      "plugin sees peer",
    );
    assertEquals(p.discovery.health().state, "connected");
    assertEquals(p.discovery.publicAddresses(), ["127.0.0.1"]);
    assert(reasons.length > 0, "requestReconcile was never called");
    await waitFor(
      () => {
        try {
          return Deno.statSync(`${dir}/discovery-cache.json`).isFile;
        } catch {
          return false;
        }
      },
      5_000,
      "cache file",
    );
    assertEquals(
      Deno.statSync(`${dir}/discovery-cache.json`).mode! & 0o777,
      0o600,
    );
    ac.abort();
    await p.stop!();
    peerAc.abort();
    await peerRun;
    await srv.close();
    // "Reboot" with the service down: the cache brings the peer back.
    const ac2 = new AbortController();
    const p2 = discoveryServicePlugin.create(
      context(port, dir, ac2.signal).ctx,
      {},
    );
    await p2.start!();
    assertEquals(p2.discovery.affiliates().map((a) => a.nodeId), ["node-2"]);
    assertEquals(p2.discovery.health().state, "cached");
    ac2.abort();
    await p2.stop!();
  } finally {
    peerAc.abort();
    await peerRun;
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
