/**
 * A node address that is gone ends the discovery session at once: the
 * connection may be bound to it (the box's WAN address moved), so the
 * client reconnects and publishes over a new one instead of waiting for a
 * call to time out.
 */
import type { Transport } from "@connectrpc/connect";
import { assertEquals } from "../../_tools/assert.ts";
import { DiscoveryClient } from "../../../plugins/discovery_service/client.ts";
import {
  clusterKey,
  createClusterCipher,
} from "../../../plugins/discovery_service/crypto.ts";
import { createGrpcTransport } from "../../../web/grpc/transport.ts";
import { affiliate } from "./_affiliates.ts";
import { KEY_B64, startServer, waitFor } from "./_harness.ts";

Deno.test("client: a published node address that is gone reconnects at once; a new one alone does not", async () => {
  const srv = await startServer();
  const inner = createGrpcTransport(
    { host: "127.0.0.1", port: srv.port, tls: false },
    { idleCloseMs: 0 },
  );
  // Watch is the only streaming call: one per session
  let sessions = 0;
  const counting: Transport = {
    unary: (...args) => inner.unary(...args),
    stream: (...args) => {
      sessions++;
      return inner.stream(...args);
    },
  };
  const client = new DiscoveryClient({
    url: `http://127.0.0.1:${srv.port}`,
    clusterId: "test-cluster",
    nodeId: "node-1",
    cipher: createClusterCipher(clusterKey(KEY_B64)),
    clientVersion: "test",
    source: "discovery-service",
    backoff: { initialMs: 20, multiplier: 1.5, jitter: 0.2, maxMs: 100 },
    transport: () => counting,
  });
  const ac = new AbortController();
  const run = client.run(ac.signal);
  const local = affiliate(1);
  try {
    client.publish(local, []);
    await waitFor(() => client.connected, 5_000, "connected");
    assertEquals(sessions, 1);
    client.publish({ ...local, addresses: ["192.168.0.1", "10.0.0.1"] }, []);
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(sessions, 1, "an address added keeps the session");
    const moved = {
      ...local,
      addresses: ["10.0.0.1"],
      kubespan: { ...local.kubespan!, endpoints: ["10.0.0.1:51820"] },
    };
    client.publish(moved, []);
    await waitFor(
      () => sessions === 2 && client.connected,
      2_000,
      "a new session",
    );
  } finally {
    ac.abort();
    await run;
    await srv.close();
  }
});
