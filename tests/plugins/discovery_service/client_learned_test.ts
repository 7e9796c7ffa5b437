import { assert, assertEquals } from "../../_tools/assert.ts";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import { Cluster } from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import { AffiliateSchema } from "../../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import { DiscoveryClient } from "../../../plugins/discovery_service/client.ts";
import {
  clusterKey,
  createClusterCipher,
} from "../../../plugins/discovery_service/crypto.ts";
import { encodeAffiliate } from "../../../plugins/discovery_service/payload.ts";
import { discoveryServicePlugin } from "../../../plugins/discovery_service/plugin.ts";
import { KEY_B64, rawClient, startServer, waitFor } from "./_harness.ts";
import { affiliate, fastClient } from "./_affiliates.ts";

const CIPHER = createClusterCipher(clusterKey(KEY_B64));

Deno.test("client: with harvesting, the payload extension carries this node's own endpoints and where it reaches each peer; Talos's decoder sees the plain affiliate", async () => {
  const srv = await startServer();
  const ac = new AbortController();
  const a = fastClient(srv.port, 1, { harvest: true });
  const b = fastClient(srv.port, 2);
  const runs = [a.run(ac.signal), b.run(ac.signal)];
  try {
    // Unsorted, with a duplicate and this node itself: stored sorted, once.
    a.publish(affiliate(1), [
      { affiliateID: "node-3", endpoint: "203.0.113.3:51820" },
      { affiliateID: "node-2", endpoint: "198.51.100.11:1024" },
      { affiliateID: "node-1", endpoint: "192.168.0.1:51820" },
      { affiliateID: "node-2", endpoint: "198.51.100.11:1024" },
    ]);
    b.publish(affiliate(2), []);
    await waitFor(
      () => b.affiliates().some((x) => x.nodeId === "node-1" && x.edgespan),
      5_000,
      "node-1 with its extension at node-2",
    );
    const seen = b.affiliates().find((x) => x.nodeId === "node-1")!;
    assertEquals(seen.edgespan, {
      advertised: ["192.168.0.1:51820"],
      observed: [
        { affiliateID: "node-2", endpoint: "198.51.100.11:1024" },
        { affiliateID: "node-3", endpoint: "203.0.113.3:51820" },
      ],
    });
    // The same data through Talos's schema: exactly the affiliate without it.
    const list = await rawClient(srv.port).list({ clusterId: "test-cluster" });
    const raw = list.affiliates.find((x) => x.id === "node-1")!;
    const talos = fromBinary(AffiliateSchema, CIPHER.openData(raw.data));
    assertEquals(
      toBinary(AffiliateSchema, talos, { writeUnknownFields: false }),
      encodeAffiliate(affiliate(1)),
    );
    // Harvesting off: no extension at all (the bytes Talos sends).
    const fromB = list.affiliates.find((x) => x.id === "node-2")!;
    assertEquals(CIPHER.openData(fromB.data), encodeAffiliate(affiliate(2)));
    // The Talos-style harvest update for each observed node still goes out.
    const n3 = list.affiliates.find((x) => x.id === "node-3")!;
    assertEquals([n3.data.length, n3.endpoints.length], [0, 1]);
  } finally {
    ac.abort();
    await Promise.all(runs);
    await srv.close();
  }
});

/** A fake service whose Hello answers the address in `seenAt`. */
function fakeService(seenAt: { ip: number[] }, hellos: { n: number }) {
  return createRouterTransport(({ service }) => {
    service(Cluster, {
      hello: () => {
        hellos.n++;
        return { clientIp: new Uint8Array(seenAt.ip) };
      },
      affiliateUpdate: () => ({}),
      affiliateDelete: () => ({}),
      list: () => ({}),
      async *watch(_req, ctx) {
        yield { affiliates: [] };
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
    });
  });
}

function clientOn(
  transport: ReturnType<typeof createRouterTransport>,
  changes: string[],
  helloIntervalMs?: number,
): DiscoveryClient {
  return new DiscoveryClient({
    url: "http://127.0.0.1:1",
    clusterId: "test-cluster",
    nodeId: "node-1",
    cipher: CIPHER,
    clientVersion: "test",
    source: "discovery-service",
    backoff: { initialMs: 10, multiplier: 1, jitter: 0, maxMs: 10 },
    transport: () => transport,
    onChange: (r) => changes.push(r),
    ...(helloIntervalMs !== undefined ? { helloIntervalMs } : {}),
  });
}

Deno.test("client: a renumbered WAN is learned on the live session by the periodic Hello and reported", async () => {
  const seenAt = { ip: [198, 51, 100, 11] };
  const hellos = { n: 0 };
  const changes: string[] = [];
  const c = clientOn(fakeService(seenAt, hellos), changes, 50);
  const ac = new AbortController();
  const run = c.run(ac.signal);
  try {
    await waitFor(() => c.connected, 5_000, "connected");
    assertEquals(c.publicAddresses(), ["198.51.100.11"]);
    seenAt.ip = [198, 51, 100, 111];
    await waitFor(
      () => c.publicAddresses()[0] === "198.51.100.111",
      5_000,
      "the new public address",
    );
    assertEquals(
      changes.filter((r) => r === "discovery public address changed").length,
      2,
    );
    // Same session: one Watch, never a reconnect for this.
    assert(c.connected);
  } finally {
    ac.abort();
    await run;
  }
});

Deno.test("client: helloIntervalMs 0 says Hello only on connect, as Talos does", async () => {
  const hellos = { n: 0 };
  const c = clientOn(fakeService({ ip: [10, 0, 0, 1] }, hellos), [], 0);
  const ac = new AbortController();
  const run = c.run(ac.signal);
  try {
    await waitFor(() => c.connected, 5_000, "connected");
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(hellos.n, 1);
  } finally {
    ac.abort();
    await run;
  }
});

Deno.test("client: a Hello that fails on the live session ends it; the client reconnects", async () => {
  let fail = false;
  let watches = 0;
  const transport = createRouterTransport(({ service }) => {
    service(Cluster, {
      hello: () => {
        if (fail) {
          fail = false;
          throw new Error("connection reset");
        }
        return { clientIp: new Uint8Array([10, 0, 0, 1]) };
      },
      affiliateUpdate: () => ({}),
      affiliateDelete: () => ({}),
      list: () => ({}),
      async *watch(_req, ctx) {
        watches++;
        yield { affiliates: [] };
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
    });
  });
  const c = clientOn(transport, [], 50);
  const ac = new AbortController();
  const run = c.run(ac.signal);
  try {
    await waitFor(() => c.connected && watches === 1, 5_000, "connected");
    fail = true;
    await waitFor(() => watches === 2 && c.connected, 5_000, "reconnected");
  } finally {
    ac.abort();
    await run;
  }
});

Deno.test("discovery-service plugin: helloInterval option (0 = Talos's Hello on connect only)", () => {
  const parse = discoveryServicePlugin.parseOptions!;
  assertEquals(parse({ helloInterval: "10s" }), {
    ok: true,
    options: { helloIntervalMs: 10_000 },
  });
  assertEquals(parse({ helloInterval: 0 }), {
    ok: true,
    options: { helloIntervalMs: 0 },
  });
  const bad = parse({ helloInterval: "soon" });
  assertEquals(bad.ok, false);
  if (!bad.ok) assertEquals(bad.problems[0]!.path, "helloInterval");
});

Deno.test("client: observations a peer does not advertise itself come first (they survive trimming)", async () => {
  const srv = await startServer();
  const ac = new AbortController();
  const a = fastClient(srv.port, 1, { harvest: true });
  const b = fastClient(srv.port, 2);
  const runs = [a.run(ac.signal), b.run(ac.signal)];
  try {
    b.publish(affiliate(2), []);
    a.publish(affiliate(1), []);
    await waitFor(
      () => a.affiliates().some((x) => x.nodeId === "node-2"),
      5_000,
      "node-2 known at node-1",
    );
    a.publish(affiliate(1), [
      // What node-2 advertises itself: nothing new for anyone.
      { affiliateID: "node-2", endpoint: "192.168.0.2:51820" },
      // A mapping nobody else can know.
      { affiliateID: "node-3", endpoint: "203.0.113.3:40000" },
    ]);
    await waitFor(
      () =>
        b.affiliates().find((x) => x.nodeId === "node-1")?.edgespan?.observed
          .length === 2,
      5_000,
      "the observations at node-2",
    );
    assertEquals(
      b.affiliates().find((x) => x.nodeId === "node-1")!.edgespan!.observed,
      [
        { affiliateID: "node-3", endpoint: "203.0.113.3:40000" },
        { affiliateID: "node-2", endpoint: "192.168.0.2:51820" },
      ],
    );
  } finally {
    ac.abort();
    await Promise.all(runs);
    await srv.close();
  }
});
