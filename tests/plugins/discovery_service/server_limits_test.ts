/** The service's totals and rate limit, over gRPC on loopback. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { assert, assertEquals, assertRejects } from "../../_tools/assert.ts";
import { withServer } from "./_harness.ts";

const ttl = (s: number) => create(DurationSchema, { seconds: BigInt(s) });
const b = (...x: number[]) => new Uint8Array(x);

async function code(p: Promise<unknown>): Promise<string> {
  const e = await assertRejects(() => p, ConnectError);
  return `${Code[e.code]}:${e.rawMessage}`;
}

function outcome(r: PromiseSettledResult<unknown>): string {
  return r.status === "fulfilled"
    ? "ok"
    : Code[(r.reason as ConnectError).code] ?? String(r.reason);
}

Deno.test("server: a full service answers ResourceExhausted naming the limit, logged once a minute", () => {
  const logged: string[] = [];
  return withServer(
    {
      limits: { totalAffiliatesMax: 2, clustersMax: 2 },
      log: (m, f) => {
        if (f?.message) logged.push(`${m}: ${f.method} ${f.message}`);
      },
    },
    async (_srv, c) => {
      const put = (clusterId: string, affiliateId: string) =>
        c.affiliateUpdate({
          clusterId,
          affiliateId,
          affiliateData: b(1),
          ttl: ttl(60),
        });
      await put("c1", "a");
      await put("c2", "a");
      assertEquals(
        await code(put("c1", "b")),
        "ResourceExhausted:too many affiliates in the service (limit 2)",
      );
      assertEquals(
        await code(put("c3", "a")),
        "ResourceExhausted:too many clusters in the service (limit 2)",
      );
      await put("c1", "a"); // refreshing a known affiliate still works
      await code(put("c1", "c"));
      assertEquals(logged, [
        "discovery service refused a call over a limit: AffiliateUpdate too many affiliates in the service (limit 2)",
        "discovery service refused a call over a limit: AffiliateUpdate too many clusters in the service (limit 2)",
      ]);
    },
  );
});

Deno.test("server: a Watch refused for a total does not keep a snapshot permit", () =>
  withServer(
    { limits: { clustersMax: 1 }, concurrentSnapshots: 1 },
    async (srv, c) => {
      await c.affiliateUpdate({
        clusterId: "c1",
        affiliateId: "a",
        affiliateData: b(1),
        ttl: ttl(60),
      });
      const first = async (clusterId: string) => {
        for await (const m of c.watch({ clusterId })) return m;
      };
      assertEquals(
        await code(first("c2")),
        "ResourceExhausted:too many clusters in the service (limit 1)",
      );
      // With the only permit leaked this would wait for the 5 s hold timer.
      const t0 = performance.now();
      const ac = new AbortController();
      const it = c.watch({ clusterId: "c1" }, { signal: ac.signal })
        [Symbol.asyncIterator]();
      assertEquals((await it.next()).value?.affiliates.length, 1);
      ac.abort();
      const ms = performance.now() - t0;
      assert(ms < 2000, `snapshot took ${ms} ms`);
      assertEquals(srv.state.stats().clusters, 1);
    },
  ));

Deno.test("server: the rate limit counts an IPv6 /64 as one client", () =>
  withServer(
    {
      rateLimit: { rate: 1, burst: 2 },
      maxRateWaitMs: 0,
      trustProxyHeaders: true,
    },
    async (_srv, c) => {
      const hello = (ip: string) =>
        c.hello({ clusterId: "c" }, { headers: { "x-real-ip": ip } });
      const results = [];
      for (
        const ip of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"]
      ) {
        results.push(outcome((await Promise.allSettled([hello(ip)]))[0]!));
      }
      // Another /64 and an IPv4 address have budgets of their own.
      for (const ip of ["2001:db8:1:3::1", "192.0.2.1", "192.0.2.2"]) {
        results.push(outcome((await Promise.allSettled([hello(ip)]))[0]!));
      }
      assertEquals(results, [
        "ok",
        "ok",
        "ResourceExhausted",
        "ok",
        "ok",
        "ok",
      ]);
    },
  ));

Deno.test("server: a burst over the rate limit is delayed up to each call's deadline, not refused", () =>
  withServer({ rateLimit: { rate: 2, burst: 1 } }, async (_srv, c) => {
    const t0 = performance.now();
    // Tokens at 0, 0.5, 1.0, 1.5 s: the last waits longer than 1 s.
    const results = await Promise.allSettled(
      Array.from(
        { length: 4 },
        () => c.hello({ clusterId: "c" }, { timeoutMs: 5_000 }),
      ),
    );
    const ms = performance.now() - t0;
    assertEquals(results.map(outcome), ["ok", "ok", "ok", "ok"]);
    assert(ms >= 1_400, `the burst took only ${ms} ms`);
  }));

Deno.test("server: a call whose deadline ends before a token is free is refused at once", () =>
  withServer({ rateLimit: { rate: 1, burst: 1 } }, async (_srv, c) => {
    await c.hello({ clusterId: "c" });
    const t0 = performance.now();
    assertEquals(
      await code(c.hello({ clusterId: "c" }, { timeoutMs: 300 })),
      "ResourceExhausted:rate limit of 1 calls/s per client address (burst 1): no call slot is free within the call's deadline",
    );
    const ms = performance.now() - t0;
    assert(ms < 250, `refusal took ${ms} ms`);
  }));

Deno.test("server: Watch streams are not rate limited", () =>
  withServer({ rateLimit: { rate: 2, burst: 1 } }, async (_srv, c) => {
    const ac = new AbortController();
    try {
      const t0 = performance.now();
      const opened = await Promise.allSettled(
        Array.from({ length: 6 }, async () => {
          for await (
            const m of c.watch({ clusterId: "c" }, { signal: ac.signal })
          ) {
            return m.affiliates.length;
          }
        }),
      );
      const ms = performance.now() - t0;
      assertEquals(opened.map(outcome), Array(6).fill("ok"));
      // 6 opens at 2/s with a burst of 1 would take 2.5 s if limited.
      assert(ms < 1_500, `6 watch opens took ${ms} ms`);
      // Unary calls from the same address are still limited.
      await c.hello({ clusterId: "c" }, { timeoutMs: 5_000 });
      const t1 = performance.now();
      await c.hello({ clusterId: "c" }, { timeoutMs: 5_000 });
      const waited = performance.now() - t1;
      assert(waited >= 300, `second Hello waited only ${waited} ms`);
    } finally {
      ac.abort();
    }
  }));
