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
import type { DiscoveryServer } from "../../../plugins/discovery_service/server/serve.ts";
import { KEY_B64, startServer, waitFor } from "./_harness.ts";

Deno.test("plugin: connects within 0.25 s to a service that starts just after it (a site started at once)", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const stateDir = await Deno.makeTempDir();
  const result = validateConfig({
    cluster: { id: "test-cluster", secret: KEY_B64 },
    discovery: { endpoints: [`http://127.0.0.1:${port}`] },
    node: { stateDir },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const ac = new AbortController();
  const ctx = testPluginContext({
    pluginName: "discovery-service",
    config: result.config,
    identity: { nodeId: "node-1" } as LocalIdentity,
    signal: ac.signal,
  });
  const p = discoveryServicePlugin.create(ctx, {});
  const started = performance.now();
  await p.start!();
  // the first attempt is refused; the service binds 30 ms later
  await new Promise((r) => setTimeout(r, 30));
  const srv = await startServer({ listen: `127.0.0.1:${port}` });
  try {
    await waitFor(
      () => p.discovery.health().state === "connected",
      5_000,
      "connected",
    );
    const ms = performance.now() - started;
    // KubeSpan-like 0.5 s ±50 % first retry would take at least 250 ms
    assert(ms < 240, `connected after ${ms.toFixed(0)} ms`);
  } finally {
    ac.abort();
    await p.stop!();
    await srv.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("client: a Watch that never sends its snapshot is dropped and the session starts again", async () => {
  // A service with no snapshot permit answers Hello and AffiliateUpdate but
  // never the Watch: the stream stalls, as one did under load in CI.
  const stalled = await startServer({ concurrentSnapshots: 0 });
  const port = stalled.port;
  const warnings: string[] = [];
  const client = new DiscoveryClient({
    url: `http://127.0.0.1:${port}`,
    clusterId: "test-cluster",
    nodeId: "node-1",
    cipher: createClusterCipher(clusterKey(KEY_B64)),
    clientVersion: "test",
    source: "discovery-service",
    backoff: { initialMs: 50, multiplier: 1.5, jitter: 0.2, maxMs: 300 },
    snapshotTimeoutMs: 300,
    warn: (message) => warnings.push(message),
  });
  const ac = new AbortController();
  const run = client.run(ac.signal);
  let healthy: DiscoveryServer | undefined;
  try {
    await waitFor(
      () => /no Watch snapshot within 300 ms/.test(client.health().detail),
      3_000,
      "the stalled Watch to be given up",
    ).catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(client.health())}`);
    });
    assertEquals(client.health().state, "connecting");
    assert(
      warnings.some((w) => w.includes("no Watch snapshot")),
      `warned: ${JSON.stringify(warnings)}`,
    );
    // The same address now serves snapshots: the next session connects.
    await stalled.close();
    healthy = await startServer({ listen: `127.0.0.1:${port}` });
    await waitFor(
      () => client.health().state === "connected",
      5_000,
      "connected to the service that answers",
    );
  } finally {
    ac.abort();
    await run;
    await stalled.close();
    await healthy?.close();
  }
});

Deno.test("plugin: a lost connection asks the agent for a pass at once (the loss is logged then, not at the next tick)", async () => {
  let srv: DiscoveryServer | undefined = await startServer();
  const stateDir = await Deno.makeTempDir();
  const result = validateConfig({
    cluster: { id: "test-cluster", secret: KEY_B64 },
    discovery: { endpoints: [`http://127.0.0.1:${srv.port}`] },
    node: { stateDir },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const ac = new AbortController();
  const reasons: string[] = [];
  const ctx = testPluginContext({
    pluginName: "discovery-service",
    config: result.config,
    identity: { nodeId: "node-1" } as LocalIdentity,
    signal: ac.signal,
    requestReconcile: (reason) => reasons.push(reason),
  });
  const p = discoveryServicePlugin.create(ctx, {});
  try {
    await p.start!();
    await waitFor(
      () => p.discovery.health().state === "connected",
      5_000,
      "connected",
    );
    await srv.close();
    srv = undefined;
    await waitFor(
      () => reasons.includes("discovery connection lost"),
      2_000,
      `a pass asked for the loss (asked: ${reasons.join(", ")})`,
    );
    assertEquals(p.discovery.health().state, "connecting");
  } finally {
    ac.abort();
    await p.stop!();
    await srv?.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
