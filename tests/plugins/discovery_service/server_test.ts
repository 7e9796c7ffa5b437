import * as http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";
import { rawClient, startServer, withServer } from "./_harness.ts";

const ttl = (s: number) => create(DurationSchema, { seconds: BigInt(s) });
const b = (...x: number[]) => new Uint8Array(x);

async function code(p: Promise<unknown>): Promise<string> {
  const e = await assertRejects(() => p, ConnectError);
  return `${Code[e.code]}:${e.rawMessage}`;
}

function h2get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on("error", reject);
    const r = s.request({ ":path": path });
    let body = "";
    r.setEncoding("utf8");
    r.on("data", (d) => (body += d));
    r.on("end", () => {
      s.close();
      resolve(body);
    });
  });
}

Deno.test("server: Hello returns the 4-byte caller IP and the redirect", async () => {
  const srv = await startServer({ redirectEndpoint: "other:3000" });
  try {
    const c = rawClient(srv.port);
    const res = await c.hello({ clusterId: "c", clientVersion: "t" });
    assertEquals(Array.from(res.clientIp), [127, 0, 0, 1]);
    assertEquals(res.redirect?.endpoint, "other:3000");
    assertEquals(
      await code(c.hello({ clusterId: "" })),
      "InvalidArgument:cluster ID can't be empty",
    );
  } finally {
    await srv.close();
  }
});

Deno.test("server: every method, its limits and status codes", async () => {
  const srv = await startServer();
  try {
    const c = rawClient(srv.port);
    await c.affiliateUpdate({
      clusterId: "c",
      affiliateId: "a",
      affiliateData: b(1),
      affiliateEndpoints: [b(2)],
      ttl: ttl(60),
    });
    await c.affiliateUpdate({
      clusterId: "c",
      affiliateId: "a",
      affiliateEndpoints: [b(3)],
      ttl: ttl(60),
    });
    const list = await c.list({ clusterId: "c" });
    assertEquals(
      list.affiliates.map((
        a,
      ) => [a.id, Array.from(a.data), a.endpoints.map((e) => e[0])]),
      [["a", [1], [2, 3]]],
    );
    await c.affiliateDelete({ clusterId: "c", affiliateId: "a" });
    assertEquals((await c.list({ clusterId: "c" })).affiliates.length, 0);
    assertEquals(
      await code(c.list({ clusterId: "" })),
      "InvalidArgument:cluster ID can't be empty",
    );
    assertEquals(
      await code(c.affiliateDelete({ clusterId: "c", affiliateId: "" })),
      "InvalidArgument:affiliate ID can't be empty",
    );
    assertEquals(
      await code(
        c.affiliateUpdate({
          clusterId: "c",
          affiliateId: "a",
          affiliateData: new Uint8Array(2049),
          ttl: ttl(1),
        }),
      ),
      "InvalidArgument:affiliate data is too big",
    );
    assertEquals(
      await code(
        c.affiliateUpdate({ clusterId: "c", affiliateId: "a", ttl: ttl(1801) }),
      ),
      "InvalidArgument:ttl is too large",
    );
    assertEquals(
      await code(
        c.affiliateUpdate({
          clusterId: "c",
          affiliateId: "a",
          affiliateEndpoints: Array.from({ length: 65 }, (_, i) => b(i)),
          ttl: ttl(1),
        }),
      ),
      "ResourceExhausted:too many endpoints",
    );
    const metrics = await h2get(srv.port, "/metrics");
    assert(
      metrics.includes(
        'edgespan_discovery_requests_total{method="AffiliateUpdate",code="InvalidArgument"} 2',
      ),
      metrics,
    );
    assert(metrics.includes("edgespan_discovery_clusters 1"), metrics);
    assertEquals(await h2get(srv.port, "/healthz"), "ok\n");
  } finally {
    await srv.close();
  }
});

Deno.test("server: Watch sends the snapshot, then updates, deletions and expiry", async () => {
  let now = 1_000_000_000;
  const srv = await startServer({ now: () => now });
  const ac = new AbortController();
  try {
    const c = rawClient(srv.port);
    await c.affiliateUpdate({
      clusterId: "c",
      affiliateId: "a",
      affiliateData: b(1),
      ttl: ttl(60),
    });
    await c.affiliateUpdate({
      clusterId: "other",
      affiliateId: "z",
      affiliateData: b(1),
      ttl: ttl(60),
    });
    const it = c.watch({ clusterId: "c" }, { signal: ac.signal })
      [Symbol.asyncIterator]();
    const next = async () => {
      const r = (await it.next()).value!;
      return `${r.deleted ? "del" : "upd"}:${
        r.affiliates.map((a: { id: string }) => a.id).join(",")
      }`;
    };
    assertEquals(await next(), "upd:a");
    await c.affiliateUpdate({
      clusterId: "c",
      affiliateId: "b",
      affiliateData: b(2),
      ttl: ttl(30),
    });
    assertEquals(await next(), "upd:b");
    await c.affiliateUpdate({
      clusterId: "other",
      affiliateId: "y",
      affiliateData: b(1),
      ttl: ttl(60),
    });
    await c.affiliateDelete({ clusterId: "c", affiliateId: "a" });
    assertEquals(await next(), "del:a");
    now += 31_000;
    srv.gc();
    assertEquals(await next(), "del:b");
    // Empty snapshot for a fresh cluster.
    const r = await c.watch({ clusterId: "empty" })[Symbol.asyncIterator]()
      .next();
    assertEquals(r.value?.affiliates.length, 0);
  } finally {
    ac.abort();
    await srv.close();
  }
});

Deno.test("server: a watcher that overflows gets Aborted lost update", async () => {
  const srv = await startServer({ limits: { watcherBuffer: 2 } });
  try {
    const c = rawClient(srv.port);
    const stream = c.watch({ clusterId: "c" });
    const it = stream[Symbol.asyncIterator]();
    await it.next(); // snapshot; we now stop reading
    // Changes go straight onto the stream until flow control and the
    // stream's backlog fill up; only then do they queue in the watcher, and
    // a third distinct affiliate overflows a buffer of 2.
    const data = new Uint8Array(2000);
    for (let i = 0; i < 1000; i++) {
      data[0] = i & 0xff;
      data[1] = i >> 8;
      srv.state.update("c", `a${i % 50}`, data, [], 60_000);
    }
    const e = await assertRejects(async () => {
      while (!(await it.next()).done) { /* drain */ }
    }, ConnectError);
    assertEquals([Code[e.code], e.rawMessage], ["Aborted", "lost update"]);
  } finally {
    await srv.close();
  }
});

Deno.test("server: a stalled watcher gets the latest state of each affiliate, not every change", async () => {
  const srv = await startServer();
  try {
    const c = rawClient(srv.port);
    const stream = c.watch({ clusterId: "c" });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    const data = new Uint8Array(2000);
    for (let i = 0; i < 1000; i++) {
      data[0] = 1;
      data[1] = i & 0xff;
      srv.state.update("c", `a${i % 50}`, data, [], 60_000);
    }
    for (let k = 0; k < 50; k++) {
      srv.state.update("c", `a${k}`, new Uint8Array([0xff, k]), [], 60_000);
    }
    const latest = new Map<string, number>();
    let messages = 0;
    while (latest.size < 50 || [...latest.values()].some((v) => v !== 0xff)) {
      const r = await it.next();
      assert(!r.done, "the stream ended");
      messages++;
      for (const a of r.value.affiliates) latest.set(a.id, a.data[0]!);
    }
    assert(
      messages < 1050 / 2,
      `${messages} messages for 1050 changes: nothing was coalesced`,
    );
  } finally {
    await srv.close();
  }
});

Deno.test("server: per-IP rate limit answers ResourceExhausted beyond the burst", () =>
  withServer(
    { rateLimit: { rate: 1, burst: 5 }, maxRateWaitMs: 0 },
    async (_srv, c) => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => c.hello({ clusterId: "c" })),
      );
      assertEquals(results.filter((r) => r.status === "fulfilled").length, 5);
      const rejected = results.find((r) =>
        r.status === "rejected"
      ) as PromiseRejectedResult;
      assertEquals(
        Code[(rejected.reason as ConnectError).code],
        "ResourceExhausted",
      );
    },
  ));

Deno.test("server: rate limit waits for a token when the wait is short", () =>
  withServer(
    { rateLimit: { rate: 20, burst: 1 }, maxRateWaitMs: 1000 },
    async (_srv, c) => {
      const t0 = performance.now();
      for (let i = 0; i < 4; i++) await c.hello({ clusterId: "c" });
      const ms = performance.now() - t0;
      assert(ms >= 140, `3 waits of 50 ms expected, took ${ms} ms`);
    },
  ));

Deno.test("server: state file survives a restart", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/state.json`;
  try {
    const a = await startServer({ stateFile });
    await rawClient(a.port).affiliateUpdate({
      clusterId: "c",
      affiliateId: "a",
      affiliateData: b(7),
      affiliateEndpoints: [b(1)],
      ttl: ttl(600),
    });
    await a.close();
    assertEquals((await Deno.stat(stateFile)).mode! & 0o777, 0o600);
    const b2 = await startServer({ stateFile });
    try {
      const list = await rawClient(b2.port).list({ clusterId: "c" });
      assertEquals(list.affiliates.map((x) => [x.id, Array.from(x.data)]), [[
        "a",
        [7],
      ]]);
    } finally {
      await b2.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: Watch errors travel as gRPC status (trailers-only)", () =>
  withServer({}, async (_srv, c) => {
    const drain = async (clusterId: string) => {
      for await (const _ of c.watch({ clusterId })) break;
    };
    assertEquals(
      await code(drain("")),
      "InvalidArgument:cluster ID can't be empty",
    );
    assertEquals(
      await code(drain("x".repeat(300))),
      "InvalidArgument:cluster ID is too long",
    );
  }));

Deno.test("server: X-Real-IP / X-Forwarded-For are used only when trusted", async () => {
  for (const trust of [false, true]) {
    await withServer({ trustProxyHeaders: trust }, async (_srv, c) => {
      const res = await c.hello({ clusterId: "c" }, {
        headers: { "x-forwarded-for": "2001:db8::7, 10.0.0.1" },
      });
      assertEquals(
        res.clientIp.length,
        trust ? 16 : 4,
      );
    });
  }
});

function hasIPv6Loopback(): boolean {
  try {
    const l = Deno.listen({ hostname: "::1", port: 0 });
    l.close();
    return true;
  } catch {
    return false;
  }
}
const v6 = hasIPv6Loopback();
if (!v6) console.log("IPv6 Hello test skipped: no ::1 on this host");

Deno.test({
  name: "server: Hello over IPv6 returns 16 bytes",
  ignore: !v6,
  async fn() {
    const srv = await startServer({ listen: "[::1]:0" });
    try {
      const { createClient } = await import("@connectrpc/connect");
      const { createGrpcTransport } = await import(
        "../../../web/grpc/transport.ts"
      );
      const { Cluster } = await import(
        "../../../proto/gen/sidero/discovery/server/cluster_pb.ts"
      );
      const transport = createGrpcTransport(
        { host: "::1", port: srv.port, tls: false },
        { idleCloseMs: 0 },
      );
      const res = await createClient(Cluster, transport).hello({
        clusterId: "c",
      });
      assertEquals(Array.from(res.clientIp), [...new Array(15).fill(0), 1]);
    } finally {
      await srv.close();
    }
  },
});
